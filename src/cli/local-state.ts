import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { MicrosError } from "../shared/errors.js";

/** What a micro's folder remembers about it, in `.micros/micro.json`. */
export interface LocalMicro {
  id: string;
  name: string;
  project: string;
  host: string;
}

export const STATE_DIR = ".micros";
const STATE_FILE = "micro.json";

async function readState(dir: string): Promise<LocalMicro | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, STATE_DIR, STATE_FILE), "utf8")) as LocalMicro;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new MicrosError(
      "ERR_VALIDATION",
      `${join(dir, STATE_DIR, STATE_FILE)} is unreadable: ${(err as Error).message}`,
    );
  }
}

/** The micro that `path` (or a folder above it) belongs to. */
export async function findMicro(path: string): Promise<{ dir: string; micro: LocalMicro }> {
  let dir = resolve(path);
  for (;;) {
    const micro = await readState(dir);
    if (micro) return { dir, micro };
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new MicrosError(
    "ERR_MICRO_NOT_FOUND",
    `No micro in ${resolve(path)}: it has no ${STATE_DIR}/ folder. Run \`micros new\` to create one, or \`micros clone --name <name>\` to fetch an existing one.`,
  );
}

export async function hasMicro(dir: string): Promise<boolean> {
  return (await readState(dir)) !== undefined;
}

export async function writeMicro(dir: string, micro: LocalMicro): Promise<void> {
  await mkdir(join(dir, STATE_DIR), { recursive: true });
  await writeFile(join(dir, STATE_DIR, STATE_FILE), `${JSON.stringify(micro, null, 2)}\n`);
}
