import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";
import * as acme from "acme-client";
import type { Logger } from "pino";
import type { DomainView } from "../../shared/domains.js";
import type { DomainCertificates } from "../domains/custom-domains.js";
import type { Domains } from "../store/domains.js";

/** Renewed when less than this is left: Let's Encrypt's certificates last 90 days and it advises renewing at 60. */
const RENEW_BEFORE_MS = 30 * 86_400_000;
/**
 * How often every domain is checked for a missing or expiring certificate. A domain whose DNS does not point here yet
 * fails once per sweep: well within Let's Encrypt's limit of 5 failed validations per host an hour.
 */
const SWEEP_MS = 60 * 60_000;
const CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

export interface AcmeOptions {
  directoryUrl: string;
  email: string;
  /** `<data-dir>/acme`: the account key and each host's key (0600) and certificate chain. */
  dir: string;
  /** The custom domains the server serves now. */
  hosts: () => Promise<string[]>;
  logger: Logger;
}

interface Issued {
  context: SecureContext;
  expiresAt: number;
}

/**
 * Certificates for custom domains from an ACME CA (Let's Encrypt by default), with HTTP-01 challenges answered on the
 * server's HTTP port and the certificates served by SNI. Each is obtained when its domain is added (and at start for
 * any missing), and renewed by an hourly sweep; a failure is logged, shown in `micros domains list` and tried again
 * at the next sweep, and a certificate that still works is served meanwhile.
 */
export class AcmeCertificates implements DomainCertificates {
  /** HTTP-01 tokens to their key authorizations, while the CA validates. */
  private readonly challenges = new Map<string, string>();
  private readonly issued = new Map<string, Issued>();
  private readonly problems = new Map<string, string>();
  private readonly obtaining = new Map<string, Promise<void>>();
  private client: Promise<acme.Client> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly options: AcmeOptions) {}

  /** Loads the certificates already on disk and starts obtaining the missing ones. */
  static async open(options: AcmeOptions): Promise<AcmeCertificates> {
    const certificates = new AcmeCertificates(options);
    await mkdir(join(options.dir, "certs"), { recursive: true, mode: 0o700 });
    await chmod(options.dir, 0o700);
    for (const host of await options.hosts()) await certificates.loadFromDisk(host);
    certificates.sweep();
    return certificates;
  }

  /** The certificate for a TLS client's SNI name, when one was issued. */
  contextFor(servername: string): SecureContext | undefined {
    return this.issued.get(servername.toLowerCase())?.context;
  }

  /** Answers the CA's HTTP-01 request for a token it is validating; false for any other request. */
  answerChallenge(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? "";
    if (!url.startsWith(CHALLENGE_PREFIX)) return false;
    const answer = this.challenges.get(url.slice(CHALLENGE_PREFIX.length));
    if (answer === undefined) return false;
    res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(answer) });
    res.end(answer);
    return true;
  }

  want(host: string): void {
    void this.obtain(host);
  }

  forget(host: string): void {
    this.issued.delete(host);
    this.problems.delete(host);
    void Promise.all([rm(this.keyFile(host), { force: true }), rm(this.certFile(host), { force: true })]).catch(
      (err: unknown) => this.options.logger.warn({ err, host }, "could not remove a removed domain's certificate"),
    );
  }

  status(host: string): DomainView["certificate"] {
    const issued = this.issued.get(host);
    const error = this.problems.get(host);
    if (issued) return { status: "issued", expiresAt: new Date(issued.expiresAt).toISOString(), error };
    if (error !== undefined && !this.obtaining.has(host)) return { status: "failed", error };
    return { status: "pending" };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.allSettled([this.sweeping, ...this.obtaining.values()]);
  }

  private keyFile(host: string): string {
    return join(this.options.dir, "certs", `${host}.key`);
  }

  private certFile(host: string): string {
    return join(this.options.dir, "certs", `${host}.crt`);
  }

  private sweep(): void {
    this.sweeping = (async () => {
      // One at a time: a server with many domains does not flood the CA.
      for (const host of await this.options.hosts()) if (!this.closed) await this.obtain(host);
    })();
    this.timer = setTimeout(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  private async loadFromDisk(host: string): Promise<void> {
    try {
      const [key, cert] = await Promise.all([readFile(this.keyFile(host)), readFile(this.certFile(host))]);
      this.install(host, key, cert);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.options.logger.warn({ err, host }, "a stored certificate cannot be used; a new one will be obtained");
      }
    }
  }

  private install(host: string, key: Buffer, cert: Buffer): void {
    const context = createSecureContext({ key, cert });
    const expiresAt = acme.crypto.readCertificateInfo(cert).notAfter.getTime();
    this.issued.set(host, { context, expiresAt });
  }

  /** Obtains (or renews) the host's certificate unless a current one is served; one order per host at a time. */
  private obtain(host: string): Promise<void> {
    const running = this.obtaining.get(host);
    if (running) return running;
    const issued = this.issued.get(host);
    if (this.closed || (issued && issued.expiresAt - Date.now() > RENEW_BEFORE_MS)) return Promise.resolve();
    const work = this.order(host)
      .then(() => {
        this.problems.delete(host);
      })
      .catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.problems.set(host, message);
        this.options.logger.error(
          { err, host },
          `could not obtain a certificate for ${host}; trying again within the hour`,
        );
      })
      .finally(() => this.obtaining.delete(host));
    this.obtaining.set(host, work);
    return work;
  }

  private async order(host: string): Promise<void> {
    const client = await this.account();
    const [key, csr] = await acme.crypto.createCsr(
      { commonName: host, altNames: [host] },
      await acme.crypto.createPrivateEcdsaKey(),
    );
    const chain = await client.auto({
      csr,
      email: this.options.email,
      // The operator agreed by giving --acme-email (the docs say so).
      termsOfServiceAgreed: true,
      challengePriority: ["http-01"],
      // The CA checks the challenge; acme-client's own check would ask DNS and port 80 from here, which need not work.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        this.challenges.set(challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        this.challenges.delete(challenge.token);
      },
    });
    // Removed while the CA worked: not served, not kept.
    if (!(await this.options.hosts()).includes(host)) return;
    const cert = Buffer.from(chain);
    await writeSecret(this.keyFile(host), key);
    await writeSecret(this.certFile(host), cert);
    this.install(host, key, cert);
    this.options.logger.info({ host }, `obtained a certificate for ${host}`);
  }

  /** The ACME account, its key made once and kept at `<dir>/account.key` (0600). */
  private account(): Promise<acme.Client> {
    this.client ??= (async () => {
      const file = join(this.options.dir, "account.key");
      let accountKey: Buffer;
      try {
        accountKey = await readFile(file);
      } catch {
        accountKey = await acme.crypto.createPrivateEcdsaKey();
        await writeSecret(file, accountKey);
      }
      return new acme.Client({ directoryUrl: this.options.directoryUrl, accountKey });
    })();
    // A failure (the CA unreachable) is tried again with the next order.
    this.client.catch(() => {
      this.client = undefined;
    });
    return this.client;
  }
}

/** Written whole or not at all, readable by the server's user only. */
async function writeSecret(file: string, content: Buffer): Promise<void> {
  const partial = `${file}.partial`;
  await writeFile(partial, content, { mode: 0o600 });
  await rename(partial, file);
}

/** ACME for the server's custom domains, its state under `<data-dir>/acme`. */
export function openAcme(
  directoryUrl: string,
  email: string,
  dataDir: string,
  domains: Domains,
  logger: Logger,
): Promise<AcmeCertificates> {
  return AcmeCertificates.open({
    directoryUrl,
    email,
    dir: join(dataDir, "acme"),
    hosts: () => domains.hosts(),
    logger,
  });
}
