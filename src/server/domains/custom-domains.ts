import type { DomainView } from "../../shared/domains.js";
import { MicrosError } from "../../shared/errors.js";
import type { Domains } from "../store/domains.js";
import type { Micro } from "../store/micros.js";
import type { Endpoints } from "./endpoints.js";

/** What the certificates for custom domains need to hear of them (ACME), and what they say of one. */
export interface DomainCertificates {
  /** A host was added: obtain its certificate. */
  want(host: string): void;
  /** A host was removed: stop serving its certificate. */
  forget(host: string): void;
  status(host: string): DomainView["certificate"];
}

/**
 * Adding and removing a micro's custom domains: the one place that checks a host against the platform's own domain
 * and tells the certificates, so every route that changes domains follows the same rules.
 */
export class CustomDomains {
  constructor(
    private readonly domains: Domains,
    private readonly platformDomain: string,
    private readonly endpoints: Endpoints,
    private readonly certificates: DomainCertificates | undefined,
  ) {}

  /** Gives `host` (checked by hostNameSchema) to the micro. */
  async add(micro: Micro, host: string): Promise<DomainView> {
    if (host === this.platformDomain || host.endsWith(`.${this.platformDomain}`)) {
      throw new MicrosError(
        "ERR_VALIDATION",
        `${host} is the platform's own domain (${this.platformDomain}) or under it, where micros answer at their subdomain; give a host name outside it.`,
        { details: { host } },
      );
    }
    const domain = await this.domains.add(micro.id, host);
    this.certificates?.want(host);
    return this.view(domain);
  }

  async remove(micro: Micro, host: string): Promise<void> {
    if (!(await this.domains.remove(micro.id, host))) {
      throw new MicrosError("ERR_DOMAIN_NOT_FOUND", `${host} is not a domain of the micro ${micro.name}.`, {
        details: { host },
      });
    }
    this.certificates?.forget(host);
  }

  async list(micro: Micro): Promise<DomainView[]> {
    return (await this.domains.forMicro(micro.id)).map((domain) => this.view(domain));
  }

  private view(domain: { host: string; createdAt: number }): DomainView {
    return {
      host: domain.host,
      endpoint: this.endpoints.forHost(domain.host),
      createdAt: new Date(domain.createdAt).toISOString(),
      certificate: this.certificates?.status(domain.host) ?? null,
    };
  }
}
