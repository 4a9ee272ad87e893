import type { InstallKind } from "../runtimes/runtime.js";

export interface Release {
  id: string;
  microId: string;
  version: number;
  codeBytes: number;
  fileCount: number;
  install: InstallKind;
  createdAt: number;
  /**
   * The packed release's blob (see src/server/blobs/), from which a node that did not build it fetches it. Only the
   * PostgreSQL store records one: with SQLite there is one node, and the release's folder is all there is.
   */
  contentHash?: string;
}

export interface ReleaseRow {
  id: string;
  micro_id: string;
  version: number;
  code_bytes: number;
  file_count: number;
  install: InstallKind;
  created_at: number;
  content_hash?: string | null;
}

export function toRelease(row: ReleaseRow): Release {
  return {
    id: row.id,
    microId: row.micro_id,
    version: row.version,
    codeBytes: row.code_bytes,
    fileCount: row.file_count,
    install: row.install,
    createdAt: row.created_at,
    ...(row.content_hash ? { contentHash: row.content_hash } : {}),
  };
}

export interface Releases {
  /** An id for a release about to be built (its folder is named after it before the row exists). */
  newId(): string;
  /** Records a built release and makes it the one that serves, in one transaction. */
  activate(release: Omit<Release, "version" | "createdAt">): Promise<Release>;
  /** Makes a kept release the one that serves again. */
  makeCurrent(microId: string, releaseId: string): Promise<void>;
  byId(id: string): Promise<Release | undefined>;
  list(microId: string): Promise<Release[]>;
  /** Forgets all but the newest `keep` releases (never the current one) and returns the ids dropped. */
  prune(microId: string, keep: number): Promise<string[]>;
}
