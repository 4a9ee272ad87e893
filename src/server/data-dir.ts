import { access, chmod, constants, mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { MicrosError } from "../shared/errors.js";

function why(err: NodeJS.ErrnoException): string {
  if (err.code === "ENOTDIR" || err.code === "EEXIST") return "it, or a part of its path, is a file";
  if (err.code === "EROFS") return "its file system is read-only";
  if (err.code === "EACCES" || err.code === "EPERM") return "permission denied";
  if (err.code === "ENOSPC") return "its disk is full";
  return err.message;
}

/**
 * Makes the data directory (mode 0711: others may pass through, as sandboxes bind what they get from their own
 * folders under `run/`, but not list it; everything else in it is closed to them) and checks the server can write
 * there; its absolute path.
 */
export async function prepareDataDir(dir: string): Promise<string> {
  const path = resolve(dir);
  try {
    await mkdir(path, { recursive: true });
    await chmod(path, 0o711);
    await access(path, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new MicrosError(
      "ERR_DATA_DIR_UNUSABLE",
      `The data directory ${path} cannot be used: ${why(err as NodeJS.ErrnoException)}. Choose another with --data-dir.`,
      { cause: err, details: { path } },
    );
  }
  return path;
}
