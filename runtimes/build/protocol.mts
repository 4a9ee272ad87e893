/**
 * What the platform asks of the builder and what the builder answers. The
 * builder runs in the build sandbox, where it unpacks a tenant's upload and
 * installs its dependencies; the job arrives as one JSON document on stdin and
 * the result leaves as one JSON line on file descriptor 3. A package's install
 * script runs beside the builder, so the platform treats the result as
 * untrusted input: it checks it against a schema and checks the release
 * itself again when it reads it back.
 */

/** Limits on the archive, checked on its listing before anything is unpacked. */
export interface ArchiveLimits {
  entries: number;
  depth: number;
  /** Bytes in one file or folder name. */
  nameBytes: number;
  /** Bytes in a whole path. */
  pathBytes: number;
  /** Unpacked bytes. */
  codeBytes: number;
}

export interface UnpackJob {
  step: "unpack";
  /** The uploaded tar.gz. */
  archive: string;
  /** Where the code goes: empty. */
  app: string;
  /** The micro's kept releases, for an upload that holds only changes (read-only). */
  releases: string | null;
  limits: ArchiveLimits;
}

export interface InstallJob {
  step: "install";
  language: "node" | "python";
  /** The unpacked code, where the dependencies are installed. */
  app: string;
  /** The owner's own package caches (npm, pip). */
  cache: string;
  /** Python only: the interpreter the virtual environment is made from. */
  python: string | null;
}

export type BuildJob = UnpackJob | InstallJob;

/** Codes the builder may answer with; anything else is the builder's failure. */
export const BUILD_ERROR_CODES = [
  "ERR_BAD_ARCHIVE",
  "ERR_PAYLOAD_TOO_LARGE",
  "ERR_RELEASE_NOT_FOUND",
  "ERR_DEPENDENCY_INSTALL_FAILED",
] as const;

export type BuildErrorCode = (typeof BUILD_ERROR_CODES)[number];

export type BuildResult =
  | {
      ok: true;
      /** unpack: the entries in the upload, and the release it builds on when it holds only changes. */
      uploaded?: number;
      base?: string | null;
      /** install: what ran. */
      installed?: "npm ci" | "npm install" | "pip install" | "none";
    }
  | { ok: false; code: BuildErrorCode; message: string; details?: Record<string, string | number> };

/** Where the result goes. */
export const RESULT_FD = 3;
