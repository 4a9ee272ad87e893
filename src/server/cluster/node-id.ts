import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { newId } from "../store/ids.js";

const NODE_ID_FILE = "node-id";

/** This node's id, kept in `<data-dir>/node-id` so a restarted node rejoins as itself and keeps its micros. */
export async function nodeId(dataDir: string): Promise<string> {
  const file = join(dataDir, NODE_ID_FILE);
  const kept = await readFile(file, "utf8").then(
    (text) => text.trim(),
    (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    },
  );
  if (kept && /^[a-z0-9]{12}$/.test(kept)) return kept;
  const id = newId(12);
  await writeFile(file, `${id}\n`, { mode: 0o600 });
  return id;
}
