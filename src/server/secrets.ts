import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

const KEY_FILE = "secret-key";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals values (environment variables) with AES-256-GCM under a key kept in
 * `<data-dir>/secret-key`, so a copy of the database alone reveals nothing.
 */
export class Secrets {
  private constructor(private readonly key: Buffer) {}

  static async load(dataDir: string): Promise<Secrets> {
    return new Secrets(await Secrets.localKey(dataDir));
  }

  /** Seals with `key`: the key the nodes of a cluster share (cluster/sealing-key.ts). */
  static withKey(key: Buffer): Secrets {
    return new Secrets(key);
  }

  /** The data dir's own key, made on first use. */
  static async localKey(dataDir: string): Promise<Buffer> {
    const file = join(dataDir, KEY_FILE);
    try {
      return await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      const key = randomBytes(32);
      await writeFile(file, key, { mode: 0o600, flag: "wx" });
      return key;
    }
  }

  seal(value: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const sealed = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
  }

  /** A MAC of `value` under a key derived for `purpose` alone, so no two uses of the secret key can be confused. */
  mac(purpose: string, value: string): Buffer {
    const key = createHmac("sha256", this.key).update(purpose).digest();
    return createHmac("sha256", key).update(value).digest();
  }

  open(blob: Buffer): string {
    const decipher = createDecipheriv("aes-256-gcm", this.key, blob.subarray(0, IV_BYTES));
    decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  }
}
