import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { MicrosError } from "../../shared/errors.js";
import { Secrets } from "../secrets.js";
import type { Nodes } from "../store/nodes.js";

const KEY_NAME = "sealing";
const IV_BYTES = 12;
const TAG_BYTES = 16;

function wrappingKey(clusterSecret: string): Buffer {
  return Buffer.from(hkdfSync("sha256", clusterSecret, "micros", "sealing key wrap", 32));
}

/**
 * The key every node seals environment variables and project keys with. Each node alone would have its own
 * `<data-dir>/secret-key`, and values one sealed no other could open. So the database keeps one key, wrapped under
 * the cluster secret: the first node to start puts its own there (so what it sealed before it joined still opens),
 * and every node after unwraps that one. The database alone opens nothing; a node given another secret cannot start.
 */
export async function sharedSecrets(localKey: Buffer, clusterSecret: string, nodes: Nodes): Promise<Secrets> {
  const wrapping = wrappingKey(clusterSecret);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", wrapping, iv);
  const sealed = Buffer.concat([cipher.update(localKey), cipher.final()]);
  const stored = await nodes.sharedKey(KEY_NAME, Buffer.concat([iv, cipher.getAuthTag(), sealed]));
  try {
    const decipher = createDecipheriv("aes-256-gcm", wrapping, stored.subarray(0, IV_BYTES));
    decipher.setAuthTag(stored.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Secrets.withKey(Buffer.concat([decipher.update(stored.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]));
  } catch {
    throw new MicrosError(
      "ERR_INVALID_SETTING",
      "--cluster-secret is not the secret the nodes already on this database were given: give every node the same one.",
    );
  }
}
