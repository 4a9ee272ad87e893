import { unwatchFile, watchFile } from "node:fs";
import { readFile } from "node:fs/promises";
import { createSecureContext, type SecureContext } from "node:tls";
import type { Logger } from "pino";
import { MicrosError } from "../../shared/errors.js";

/**
 * How often the files are checked. Polled rather than watched with inotify: tools that renew certificates
 * (certbot, cert-manager, an editor) replace files by renaming a new one over them, which an inotify watch on the old
 * file never sees.
 */
const POLL_MS = 1000;
/** A renewal writes the certificate and the key one after the other: wait for both before loading. */
const SETTLE_MS = 200;

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

async function loadPair(certFile: string, keyFile: string): Promise<{ pair: KeyPair; context: SecureContext }> {
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  // Throws for a file that is not PEM, and for a key that is not the certificate's.
  const context = createSecureContext({ cert, key });
  return { pair: { cert, key }, context };
}

/**
 * A certificate and key from files (--tls-cert, --tls-key), loaded again whenever either file changes. A new pair
 * that does not load (half-written, mismatched) is logged and the one in use stays; open connections keep theirs.
 */
export class CertificateFiles {
  private settle: NodeJS.Timeout | undefined;
  private loading = Promise.resolve();

  private constructor(
    private readonly certFile: string,
    private readonly keyFile: string,
    private loaded: { pair: KeyPair; context: SecureContext },
    private readonly operator: Logger,
  ) {}

  /** Loads the pair; a pair that does not load stops the start with the reason. */
  static async open(certFile: string, keyFile: string, operator: Logger): Promise<CertificateFiles> {
    if (!certFile || !keyFile) {
      throw new MicrosError(
        "ERR_INVALID_SETTING",
        "--tls-cert and --tls-key go together: give the certificate file and its private key file.",
      );
    }
    try {
      return new CertificateFiles(certFile, keyFile, await loadPair(certFile, keyFile), operator);
    } catch (err) {
      throw new MicrosError(
        "ERR_INVALID_SETTING",
        `The certificate ${certFile} and key ${keyFile} cannot be used: ${(err as Error).message}.`,
        { cause: err },
      );
    }
  }

  get pair(): KeyPair {
    return this.loaded.pair;
  }

  get context(): SecureContext {
    return this.loaded.context;
  }

  /** Calls `onChange` with each new pair that loads; until `close`. */
  watch(onChange: (pair: KeyPair) => void): void {
    const changed = () => {
      clearTimeout(this.settle);
      this.settle = setTimeout(() => {
        this.loading = this.loading.then(() => this.reload(onChange));
      }, SETTLE_MS);
    };
    for (const file of [this.certFile, this.keyFile]) {
      watchFile(file, { interval: POLL_MS, persistent: false }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs || now.ino !== before.ino || now.size !== before.size) changed();
      });
    }
  }

  private async reload(onChange: (pair: KeyPair) => void): Promise<void> {
    try {
      this.loaded = await loadPair(this.certFile, this.keyFile);
    } catch (err) {
      this.operator.error(
        { err, cert: this.certFile, key: this.keyFile },
        "the changed certificate or key cannot be used; the previous certificate is still served",
      );
      return;
    }
    onChange(this.loaded.pair);
    this.operator.info({ cert: this.certFile }, "loaded the changed certificate and key; new connections get them");
  }

  async close(): Promise<void> {
    clearTimeout(this.settle);
    for (const file of [this.certFile, this.keyFile]) unwatchFile(file);
    await this.loading;
  }
}
