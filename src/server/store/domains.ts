import { MicrosError } from "../../shared/errors.js";

export interface Domain {
  host: string;
  microId: string;
  createdAt: number;
}

/** Why `host` cannot be given to the micro: `owner` is the micro that has it. */
export function domainTaken(host: string, microId: string, owner: string, cause?: unknown): MicrosError {
  return new MicrosError(
    "ERR_DOMAIN_TAKEN",
    owner === microId
      ? `${host} is already a domain of this micro.`
      : `${host} is already the domain of another micro on this server. Remove it there first (\`micros domains remove ${host}\`), or choose another host name.`,
    { details: { host }, cause },
  );
}

/** Custom domains: each host name belongs to one micro, platform-wide. */
export interface Domains {
  /** Gives `host` (already checked and lower-cased) to the micro; a host another micro has is refused. */
  add(microId: string, host: string): Promise<Domain>;
  /** Whether the micro had the host (and no longer has it). */
  remove(microId: string, host: string): Promise<boolean>;
  forMicro(microId: string): Promise<Domain[]>;
  /** Every custom host name on the platform. */
  hosts(): Promise<string[]>;
  /**
   * Host name (lower-case, no port) to the subdomain of the micro serving it, for the gateway's every request on a
   * host that is not the platform's: answered from memory until the domains or micros change.
   */
  routes(): Promise<ReadonlyMap<string, string>>;
}
