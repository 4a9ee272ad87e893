import { createHash } from "node:crypto";

/** Tokens and API keys are 256-bit random, so a fast hash is enough to keep them unreadable at rest. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}
