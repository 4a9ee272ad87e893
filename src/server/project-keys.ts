import { randomBytes } from "node:crypto";
import type { Secrets } from "./secrets.js";
import type { Projects } from "./store/projects.js";

/**
 * Each project has a key, `<project id>_<secret>` as Deta's were, that its
 * micros find in MICROS_PROJECT_KEY (and DETA_PROJECT_KEY): the credential a
 * data service for the project accepts. Made on first use, sealed at rest,
 * rotated per project.
 */
export class ProjectKeys {
  constructor(
    private readonly projects: Projects,
    private readonly secrets: Secrets,
  ) {}

  keyFor(projectId: string): string {
    const sealed = this.projects.sealedKey(projectId);
    return sealed ? this.secrets.open(sealed) : this.rotate(projectId);
  }

  /** A new key; the old one stops being handed out at once (running instances keep theirs until they restart). */
  rotate(projectId: string): string {
    const key = `${projectId}_${randomBytes(24).toString("base64url")}`;
    this.projects.setSealedKey(projectId, this.secrets.seal(key));
    return key;
  }
}
