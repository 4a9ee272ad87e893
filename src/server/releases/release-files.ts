import { join } from "node:path";
import type { Micro } from "../store/micros.js";
import type { FileManifest } from "./manifest.js";

/** Where a release's code and dependencies live on a node's disk, with its manifest beside it (manifestFile). */
export function releaseDir(dataDir: string, microId: string, releaseId: string): string {
  return join(dataDir, "releases", microId, releaseId);
}

/** What names a fetch's scratch folder beside the release's own; the deployer's cleanup removes any left over. */
export const FETCHING = ".fetching-";

/**
 * The seam between what uses a release's files (instances, the deployer's reads, archives) and the node that built
 * it: with SQLite, one node builds and serves every release, and its folder is all there is (LocalReleaseFiles);
 * with PostgreSQL, any node may have to start a release another built, and fetches it from the database
 * (SharedReleaseFiles).
 */
export interface ReleaseFiles {
  /**
   * The release's folder on this node (its manifest beside it), fetched first if only the database has it;
   * undefined when the release is known not to be kept. Local files answer with the path alone, without a look at
   * the disk: the callers find a pruned release's folder missing, as they always have.
   */
  ready(micro: Pick<Micro, "id" | "runtime">, releaseId: string): Promise<string | undefined>;
  /**
   * Makes a release just built in `dir` (with its manifest) reachable from every node, before its row is written:
   * the content hash to record with the row, if the store records one.
   */
  publish(dir: string, manifest: FileManifest): Promise<string | undefined>;
}

/** One node's releases: plain folders under `<data-dir>/releases`, with no work beyond what there always was. */
export class LocalReleaseFiles implements ReleaseFiles {
  constructor(private readonly dataDir: string) {}

  async ready(micro: Pick<Micro, "id">, releaseId: string): Promise<string> {
    return releaseDir(this.dataDir, micro.id, releaseId);
  }

  async publish(): Promise<undefined> {
    return undefined;
  }
}
