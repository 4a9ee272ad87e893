/** Custom domains' wire shapes and the rule for a host name, shared by the server and the CLI. */
import { isIP } from "node:net";
import { z } from "zod";

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `host` (lower-case, no trailing dot) is not a DNS name a micro can be served at, or undefined. */
export function hostNameProblem(host: string): string | undefined {
  if (isIP(host) !== 0) return "is an IP address; give a host name such as app.example.com";
  if (host.length > 253) return "is longer than the 253 characters a DNS name may have";
  const labels = host.split(".");
  if (labels.length < 2) return "must be a full DNS name with a dot, such as app.example.com";
  if (!labels.every((label) => LABEL.test(label))) {
    return "must be DNS labels of 1-63 letters, digits or hyphens (not at either end), joined by dots";
  }
  // No top-level domain is all digits; such a name is a mistyped address.
  if (/^\d+$/.test(labels.at(-1) as string)) return "ends in a number, which no top-level domain is";
  return undefined;
}

/** A host name as people type it: any case, perhaps a trailing dot; kept lower-case without it. */
export const hostNameSchema = z
  .string()
  .max(300)
  .transform((host) => host.trim().toLowerCase().replace(/\.$/, ""))
  .superRefine((host, check) => {
    const problem = hostNameProblem(host);
    if (problem) check.addIssue({ code: "custom", message: problem });
  });

export const addDomainBody = z.strictObject({ host: hostNameSchema });

export interface DomainView {
  host: string;
  /** Where the micro answers on this host: https when the server serves HTTPS. */
  endpoint: string;
  createdAt: string;
  /** With ACME: `issued` (until `expiresAt`), `pending`, or `failed` with the last error; null without ACME. */
  certificate: { status: "issued" | "pending" | "failed"; expiresAt?: string; error?: string } | null;
}
