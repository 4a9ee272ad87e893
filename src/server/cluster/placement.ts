import { createHash } from "node:crypto";

/**
 * The node that runs a micro: of the nodes in the pool, the one whose hash with the micro's id is highest
 * (rendezvous hashing). Every node computes the same answer from the same pool, with no coordination, and a node
 * joining or leaving moves only the micros it gains or held: the rest keep their warm instances where they are.
 */
export function ownerOf(microId: string, nodeIds: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore: bigint | undefined;
  for (const nodeId of nodeIds) {
    const score = createHash("sha256").update(nodeId).update("\0").update(microId).digest().readBigUInt64BE(0);
    // Ties (all but impossible with 64 bits) go to the smaller id, so every node still agrees.
    if (bestScore === undefined || score > bestScore || (score === bestScore && nodeId < (best as string))) {
      best = nodeId;
      bestScore = score;
    }
  }
  return best;
}
