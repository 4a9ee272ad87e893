/** Which part of the platform a request is for, decided by its Host header alone. */
export type Route = { kind: "micro"; subdomain: string } | { kind: "control" };

/**
 * `<subdomain>.<domain>[:port]` goes to a micro, and so does a custom domain (`customDomain` gives the subdomain of
 * the micro it belongs to: exact name, port ignored); any other host (the bare domain, an IP address, a missing
 * header) goes to the control plane.
 */
export function routeForHost(
  host: string | undefined,
  domain: string,
  customDomain: (host: string) => string | undefined = () => undefined,
): Route {
  if (!host) return { kind: "control" };
  let name = host.toLowerCase();
  // Strip the port; an IPv6 literal ("[::1]:4000") is never a micro.
  if (name.startsWith("[")) return { kind: "control" };
  const colon = name.lastIndexOf(":");
  if (colon !== -1) name = name.slice(0, colon);
  if (name.endsWith(".")) name = name.slice(0, -1);
  const suffix = `.${domain}`;
  if (!name.endsWith(suffix)) {
    const owner = customDomain(name);
    return owner ? { kind: "micro", subdomain: owner } : { kind: "control" };
  }
  const subdomain = name.slice(0, -suffix.length);
  return subdomain ? { kind: "micro", subdomain } : { kind: "control" };
}
