import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Database from "better-sqlite3";
import { MicrosError } from "../../shared/errors.js";

/** How many servers can sandbox on one host at once: each holds a block of host uids and a /16 of its own. */
export const BLOCKS = 100;
/** Host uids of block 0 start here: above the range distributions hand out, and above user namespaces' usual maps. */
const FIRST_UID = 200_000;
/** Host uids per kind of sandbox (instances, builds) in each block. */
const UIDS_PER_KIND = 65_536;
/** Root's own: the claims of every server on this host, cleared at boot like everything under /run. */
const CLAIMS_DIR = "/run/micros/claims";

export interface UidSpan {
  first: number;
  count: number;
}

/** What keeps this server's sandboxes apart from those of any other server on the host. */
export interface ServerBlock {
  /** 0 to BLOCKS - 1: picks the uids and the subnet (see SandboxNetwork). */
  readonly index: number;
  readonly instanceUids: UidSpan;
  readonly buildUids: UidSpan;
  /** Names of this server's cgroup parent and of its network namespaces, links and nftables tables. */
  readonly names: { cgroups: string; network: string };
  /** Gives the block up; the kernel does the same if the server dies. */
  release(): void;
}

/** Derived from the data dir, so a restarted server finds what it left (tests compute them the same way). */
function namesOf(dataDir: string): ServerBlock["names"] {
  const hash = createHash("sha256").update(dataDir).digest("hex");
  // Interface names must stay under 16 characters: 5 for the server, the rest for the instance.
  return { cgroups: `micros-${hash.slice(0, 10)}`, network: `m${hash.slice(0, 4)}` };
}

/**
 * An exclusive lock the kernel drops when its process ends, however it ends: SQLite's on a file of its own
 * (an fcntl lock, which Node has no call for). Undefined when another process holds it.
 */
function tryLock(file: string): Database.Database | undefined {
  const db = new Database(file, { timeout: 0 });
  try {
    // Nothing is ever written: no journal file either.
    db.pragma("journal_mode = MEMORY");
    db.exec("BEGIN EXCLUSIVE");
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") return undefined;
    throw err;
  }
}

/** Where a data dir's search for a free block starts, when it held none before. */
export function preferredBlock(dataDir: string): number {
  return Number.parseInt(createHash("sha256").update(`block:${dataDir}`).digest("hex").slice(0, 8), 16) % BLOCKS;
}

/** The data dir each block was last claimed for, live or not. */
async function holders(dir: string): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  for (const name of await readdir(dir)) {
    const match = /^(\d+)\.holder$/.exec(name);
    if (match) found.set(Number(match[1]), (await readFile(join(dir, name), "utf8")).trim());
  }
  return found;
}

/**
 * Claims a block no other server on this host holds. Each block has its own
 * host uids for instances and for builds and its own subnet, so two servers
 * never share a user or an address. The claim is a lock held while the
 * server runs, under root's /run. A server takes back the block it had last
 * time when it is free (its builds' caches belong to that block's users), else
 * the first free one from a place picked by its data dir. It refuses to start
 * beside a live server with the same data dir, or with the same names (a
 * 1 in 65,536 chance for two data dirs).
 */
export async function claimServerBlock(dataDir: string, claimsDir = CLAIMS_DIR): Promise<ServerBlock> {
  await mkdir(claimsDir, { recursive: true, mode: 0o700 });
  const names = namesOf(dataDir);
  const known = await holders(claimsDir);
  const start = preferredBlock(dataDir);
  const order = [
    ...[...known].filter(([, holder]) => holder === dataDir).map(([index]) => index),
    ...Array.from({ length: BLOCKS }, (_, offset) => (start + offset) % BLOCKS),
  ];
  let index = -1;
  let lock: Database.Database | undefined;
  for (const candidate of order) {
    lock = tryLock(join(claimsDir, `${candidate}.lock`));
    if (lock) {
      index = candidate;
      break;
    }
  }
  if (!lock) {
    throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `All ${BLOCKS} sandbox blocks of this host are held by servers.`);
  }
  const held = lock;
  try {
    const holder = join(claimsDir, `${index}.holder`);
    await writeFile(`${holder}.new`, `${dataDir}\n`, { mode: 0o600 });
    await rename(`${holder}.new`, holder);
    // Checked once our own claim is visible, so of two servers starting together, at least one sees the other.
    for (const [other, otherDir] of await holders(claimsDir)) {
      const clash = otherDir === dataDir ? "uses this data dir" : sameNames(namesOf(otherDir), names);
      if (other === index || !clash) continue;
      const free = tryLock(join(claimsDir, `${other}.lock`));
      free?.close();
      if (!free) {
        throw new MicrosError(
          "ERR_SANDBOX_UNAVAILABLE",
          `Another Micros server on this host (data dir ${otherDir}) ${clash}. Stop it, or give this one another --data-dir.`,
        );
      }
    }
  } catch (err) {
    held.close();
    throw err;
  }
  const firstUid = FIRST_UID + index * 2 * UIDS_PER_KIND;
  return {
    index,
    instanceUids: { first: firstUid, count: UIDS_PER_KIND },
    buildUids: { first: firstUid + UIDS_PER_KIND, count: UIDS_PER_KIND },
    names,
    release: () => {
      if (held.open) held.close();
    },
  };
}

function sameNames(a: ServerBlock["names"], b: ServerBlock["names"]): string | undefined {
  return a.cgroups === b.cgroups || a.network === b.network ? "has the same sandbox names as this one" : undefined;
}
