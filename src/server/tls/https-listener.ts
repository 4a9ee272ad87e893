import { createServer, type Server } from "node:https";
import type { SecureContext } from "node:tls";
import type { Logger } from "pino";
import { type Listener, listenFirst } from "../http-listener.js";
import { CertificateFiles } from "./certificate-files.js";

export interface HttpsSettings {
  readonly host: string;
  readonly httpsPort: number;
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly acmeEmail: string;
}

/** Where a TLS client's certificate comes from, by the name it asked for (SNI). */
export interface CertificateSource {
  contextFor(servername: string): SecureContext | undefined;
}

export interface HttpsListener {
  readonly listener: Listener;
  /** The certificate files, when the server was given them (they cover the platform's subdomains too). */
  readonly files: CertificateFiles | undefined;
  /** Certificates by name, asked first (ACME's for custom domains); the files' certificate serves the rest. */
  useSource(source: CertificateSource): void;
  close(): Promise<void>;
}

/**
 * The HTTPS listener, on --https-port beside the HTTP one, when the server has certificate files or ACME. The files'
 * pair is the default certificate and is swapped in when the files change (open connections keep theirs).
 */
export async function listenHttps(settings: HttpsSettings, logger: Logger): Promise<HttpsListener | undefined> {
  if (!settings.tlsCert && !settings.tlsKey && !settings.acmeEmail) return undefined;
  const files =
    settings.tlsCert || settings.tlsKey
      ? await CertificateFiles.open(settings.tlsCert, settings.tlsKey, logger)
      : undefined;
  let source: CertificateSource | undefined;
  let server: Server | undefined;
  const listener = await listenFirst(settings.httpsPort, settings.host, {
    flag: "--https-port",
    create: (handler) => {
      server = createServer(
        {
          ...files?.pair,
          SNICallback: (servername, done) => done(null, source?.contextFor(servername) ?? files?.context),
        },
        handler,
      );
      return server;
    },
  }).catch(async (err: unknown) => {
    await files?.close();
    throw err;
  });
  files?.watch((pair) => server?.setSecureContext(pair));
  return {
    listener,
    files,
    useSource: (given) => {
      source = given;
    },
    close: async () => {
      await files?.close();
      await listener.close();
    },
  };
}
