import pg from "pg";
import { MicrosError } from "../../../shared/errors.js";
import { redactUrl } from "../database-url.js";
import { PG_MIGRATIONS } from "./migrations.js";

/** Anything that runs a parameterized statement: the pool, or the one client a transaction holds. */
type Queryable = Pick<pg.Pool, "query"> | Pick<pg.PoolClient, "query">;

/**
 * Every key of the advisory lock migrations take, one number all nodes agree on (the bytes of "micros" read as an
 * integer), so that nodes starting at once migrate one after the other and each later one finds nothing to do.
 */
const MIGRATION_LOCK = 0x6d6963726f73;

/**
 * BIGINT columns (milliseconds, sizes, ids) come back as numbers: every value they hold is far below 2^53, and the
 * row mappers both stores share expect numbers. Only this pool is told so; `pg`'s global parsers are left alone.
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/** Statements on one connection or the pool; parameters are always passed apart from the text ($1, $2, ...). */
export class Sql {
  constructor(private readonly on: Queryable) {}

  async rows<T>(text: string, params: unknown[] = []): Promise<T[]> {
    return (await this.on.query(text, params)).rows as T[];
  }

  async row<T>(text: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(text, params))[0];
  }

  /** Runs a statement and says how many rows it touched. */
  async run(text: string, params: unknown[] = []): Promise<number> {
    return (await this.on.query(text, params)).rowCount ?? 0;
  }
}

/** The server's PostgreSQL: a pool of connections, migrated when opened. */
export class PgDb extends Sql {
  private constructor(private readonly pool: pg.Pool) {
    super(pool);
  }

  /** Connects (failing at once, with the URL's password hidden, if it cannot) and brings the schema up to date. */
  static async open(url: string): Promise<PgDb> {
    const pool = new pg.Pool({ connectionString: url, types: TYPES });
    // A connection that breaks while idle in the pool is dropped by the pool itself; without a listener, Node would
    // treat the event as an uncaught error and end the server. The next query connects afresh or fails to its caller.
    pool.on("error", () => {});
    const db = new PgDb(pool);
    try {
      await db.migrate();
    } catch (err) {
      await pool.end();
      if (err instanceof MicrosError) throw err;
      throw new MicrosError(
        "ERR_DATABASE_UNUSABLE",
        `Cannot use the PostgreSQL database at ${redactUrl(url)}: ${(err as Error).message}. Check that the server runs, and the URL's host, user, password and database.`,
        { cause: err },
      );
    }
    return db;
  }

  /**
   * Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws.
   * Statements inside must go through the `Sql` it is given, never the pool, or they would run outside it.
   */
  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(new Sql(client));
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Applies the migrations not yet recorded, each in its own transaction, holding the cluster-wide lock. */
  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
      try {
        await client.query(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        );
        const { rows } = await client.query<{ version: number }>(
          "SELECT COALESCE(MAX(version), 0)::integer AS version FROM schema_migrations",
        );
        const current = rows[0]?.version ?? 0;
        if (current > PG_MIGRATIONS.length) {
          throw new MicrosError(
            "ERR_DATABASE_UNUSABLE",
            `The database schema (version ${current}) is newer than this server knows (${PG_MIGRATIONS.length}); upgrade micros.`,
          );
        }
        for (let version = current; version < PG_MIGRATIONS.length; version++) {
          await client.query("BEGIN");
          try {
            // No parameters: the simple protocol, which runs a migration's several statements at once.
            await client.query(PG_MIGRATIONS[version] as string);
            await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [
              version + 1,
              Date.now(),
            ]);
            await client.query("COMMIT");
          } catch (err) {
            await client.query("ROLLBACK");
            throw err;
          }
        }
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  }
}
