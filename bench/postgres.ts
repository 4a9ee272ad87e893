/**
 * PostgreSQL for the benchmarks: MICROS_BENCH_DATABASE_URL names a server and a role that may create databases. Each
 * run gets a database of its own, made fresh and dropped afterwards (as test/helpers/postgres.ts does for tests).
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import pg from "pg";

export const BENCH_DATABASE_URL =
  process.env.MICROS_BENCH_DATABASE_URL || "postgres://micros:micros@127.0.0.1:5432/postgres";

export interface BenchDatabase {
  name: string;
  url: string;
  /** Connections open to the database now, and the server's `max_connections`. */
  connections(): Promise<{ open: number; max: number }>;
  /**
   * Starts counting the CPU of the server's backends for this database; the function returned gives the
   * milliseconds they used since, or undefined when the server does not run on this machine. Not counted: what a
   * backend used in its last moments when it ended meanwhile (a pool closes idle connections), and the server's
   * shared processes (WAL writer, checkpointer).
   */
  cpuMeter(): () => number | undefined;
  /** Drops the database, ending whatever connections are still open to it. */
  drop(): Promise<void>;
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  // Random hex after a fixed prefix: a safe identifier, so it may be written into the statement.
  const name = `micros_bench_${randomBytes(6).toString("hex")}`;
  await onServer(`CREATE DATABASE ${name}`);
  const url = new URL(BENCH_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async connections() {
      const rows = await onServer(
        "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = $1)::int AS open, current_setting('max_connections')::int AS max",
        [name],
      );
      return rows[0] as { open: number; max: number };
    },
    cpuMeter() {
      const before = backendCpu(name);
      return () => {
        const now = backendCpu(name);
        if (before.size === 0 && now.size === 0) return undefined;
        let used = 0;
        for (const [pid, ms] of now) used += ms - (before.get(pid) ?? 0);
        return used;
      };
    },
    drop: async () => {
      await onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function onServer(statement: string, params: unknown[] = []): Promise<unknown[]> {
  // The server's own database, not the benchmark's: this connection is no backend of the one measured.
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(statement, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Milliseconds of CPU each backend for `database` has used, by process id. A backend names its database in its
 * process title: `postgres: 15/main: <user> <database> <client> <state>`.
 */
function backendCpu(database: string): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!title.startsWith("postgres: ") || !title.split(" ").includes(database)) continue;
      // One thread per backend: its schedstat is the process's CPU time, in nanoseconds.
      cpu.set(Number(pid), Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6);
    } catch {
      // Gone meanwhile.
    }
  }
  return cpu;
}
