/** Where the server serves micros, as URLs: what `micros details` shows. */
export interface EndpointOptions {
  domain: string;
  httpPort: number;
  /** The HTTPS port, when the server serves HTTPS. */
  httpsPort: number | undefined;
  /** Whether the HTTPS certificate covers the platform's subdomains (a certificate file does; ACME only custom domains). */
  subdomainsOverHttps: boolean;
}

function url(scheme: "http" | "https", host: string, port: number): string {
  const standard = scheme === "http" ? 80 : 443;
  return `${scheme}://${host}${port === standard ? "" : `:${port}`}`;
}

export class Endpoints {
  constructor(private readonly options: EndpointOptions) {}

  forSubdomain(subdomain: string): string {
    const { domain, httpPort, httpsPort, subdomainsOverHttps } = this.options;
    const host = `${subdomain}.${domain}`;
    return httpsPort !== undefined && subdomainsOverHttps ? url("https", host, httpsPort) : url("http", host, httpPort);
  }

  forHost(host: string): string {
    const { httpPort, httpsPort } = this.options;
    return httpsPort !== undefined ? url("https", host, httpsPort) : url("http", host, httpPort);
  }
}
