import { createHash, timingSafeEqual } from "node:crypto";
import type { Secrets } from "./secrets.js";
import { newId } from "./store/ids.js";
import type { Projects } from "./store/projects.js";

/**
 * Each project has a key, `<project id>_<secret>` as Deta's were, that its
 * micros find in MICROS_PROJECT_KEY (and DETA_PROJECT_KEY): the credential the
 * Base and Drive services accept for the project's data. Made on first use,
 * sealed at rest, rotated per project.
 *
 * The secret is lowercase letters and digits: the SDKs take the project id as
 * the part before the first `_`, and Deta's Go SDK refuses a key that does not
 * split into exactly two parts. (Keys made before this rule may hold a `_` in
 * their secret; they still open their project, and `micros projects rotate-key`
 * replaces them.)
 */
export class ProjectKeys {
  /** Keys as opened, by project: opening one costs a decryption, and the data services check a key per request. */
  private readonly opened = new Map<string, string>();
  /** The first key of a project being made, so callers that ask at once all get that one. */
  private readonly making = new Map<string, Promise<string>>();

  constructor(
    private readonly projects: Projects,
    private readonly secrets: Secrets,
  ) {}

  async keyFor(projectId: string): Promise<string> {
    const stored = await this.stored(projectId);
    if (stored !== undefined) return stored;
    // Two first uses at once (two instances starting) must get one key, not two of which the later replaces the other.
    let making = this.making.get(projectId);
    if (!making) {
      making = this.rotate(projectId).finally(() => this.making.delete(projectId));
      this.making.set(projectId, making);
    }
    return making;
  }

  /** A new key; the old one stops being handed out, and opens nothing, at once (running instances keep theirs until they restart). */
  async rotate(projectId: string): Promise<string> {
    // 32 characters of 36: 165 bits.
    const key = `${projectId}_${newId(32)}`;
    await this.projects.setSealedKey(projectId, this.secrets.seal(key));
    this.opened.set(projectId, key);
    return key;
  }

  /** The project is gone (its owner was deleted): its key, still held here, must open nothing from now on. */
  forget(projectId: string): void {
    this.opened.delete(projectId);
  }

  /**
   * The project a presented key opens, or undefined. The project id is read from the key itself; the rest is
   * compared with the project's key in constant time (as digests, so lengths leak nothing either).
   */
  async projectOf(presented: string): Promise<string | undefined> {
    const separator = presented.indexOf("_");
    if (separator <= 0 || presented.length > 256) return undefined;
    const projectId = presented.slice(0, separator);
    const key = await this.stored(projectId);
    if (key === undefined) return undefined;
    return timingSafeEqual(digest(presented), digest(key)) ? projectId : undefined;
  }

  private async stored(projectId: string): Promise<string | undefined> {
    const cached = this.opened.get(projectId);
    if (cached !== undefined) return cached;
    const sealed = await this.projects.sealedKey(projectId);
    if (!sealed) return undefined;
    const key = this.secrets.open(sealed);
    this.opened.set(projectId, key);
    return key;
  }
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
