import type { Statement } from "better-sqlite3";
import type { DataDb } from "../data-database.js";
import { DetaError } from "../deta-error.js";
import {
  type BaseSummary,
  type Bases,
  type Clock,
  PAGE_SCAN_BYTES,
  type QueryOptions,
  type QueryPage,
  systemClock,
} from "./bases.js";
import { finishItem, type JsonObject, type StoredItem } from "./item.js";
import { keyRange, matches, type Query } from "./query.js";
import { queryFilter, type SqlParam } from "./query-sql.js";
import { applyUpdate, keyNotFound, type Update } from "./update.js";

/** Rows a query sums and filters in SQLite at a time: more per statement is cheaper, and only matches come back. */
const QUERY_CHUNK = 1024;
/** Rows read one by one at a time where a page's budget runs out; each comes back, so this bounds what is held. */
const ROW_CHUNK = 256;

/**
 * Deta Base on SQLite: one table of items in key order for every base of every project, each base a range of the
 * primary key (base, key). Every write is one statement or one transaction; better-sqlite3 runs them synchronously,
 * so a read-modify-write (an update with `increment`) never interleaves with another and no update is lost.
 * Items whose `__expires` has passed are never returned and are deleted by `sweep()`. Each method does its work
 * synchronously and returns a settled promise.
 */
export class BaseStore implements Bases {
  private readonly baseIds = new Map<string, number>();
  private readonly queries = new Map<string, Statement>();
  private readonly statements: {
    findBase: Statement<[string, string], { id: number }>;
    createBase: Statement<[string, string, number]>;
    get: Statement<[number, string, number], { value: string }>;
    upsert: Statement<[number, string, string, number | null]>;
    insert: Statement<[number, string, string, number | null, number]>;
    remove: Statement<[number, string]>;
    write: Statement<[string, number | null, number, string]>;
    sweep: Statement<[number]>;
  };

  constructor(
    private readonly db: DataDb,
    private readonly now: Clock = systemClock,
  ) {
    this.statements = {
      findBase: db.prepare("SELECT id FROM bases WHERE project_id = ? AND name = ?"),
      createBase: db.prepare(
        "INSERT INTO bases (project_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (project_id, name) DO NOTHING",
      ),
      get: db.prepare("SELECT value FROM items WHERE base_id = ? AND key = ? AND (expires IS NULL OR expires > ?)"),
      upsert: db.prepare(
        `INSERT INTO items (base_id, key, value, expires) VALUES (?, ?, ?, ?)
         ON CONFLICT (base_id, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
      ),
      // An expired item is gone: inserting over it succeeds.
      insert: db.prepare(
        `INSERT INTO items (base_id, key, value, expires) VALUES (?, ?, ?, ?)
         ON CONFLICT (base_id, key) DO UPDATE SET value = excluded.value, expires = excluded.expires
         WHERE items.expires IS NOT NULL AND items.expires <= ?`,
      ),
      remove: db.prepare("DELETE FROM items WHERE base_id = ? AND key = ?"),
      write: db.prepare("UPDATE items SET value = ?, expires = ? WHERE base_id = ? AND key = ?"),
      sweep: db.prepare(
        `DELETE FROM items WHERE (base_id, key) IN
           (SELECT base_id, key FROM items WHERE expires IS NOT NULL AND expires <= ? LIMIT 1000)`,
      ),
    };
  }

  /** The base's id, or undefined when nothing was ever written to it. */
  private baseId(projectId: string, name: string): number | undefined {
    const cacheKey = `${projectId}\u0000${name}`;
    const cached = this.baseIds.get(cacheKey);
    if (cached !== undefined) return cached;
    const id = this.statements.findBase.get(projectId, name)?.id;
    if (id !== undefined) this.baseIds.set(cacheKey, id);
    return id;
  }

  /** Bases are made by their first write, as Deta's were. */
  private ensureBase(projectId: string, name: string): number {
    const id = this.baseId(projectId, name);
    if (id !== undefined) return id;
    this.statements.createBase.run(projectId, name, Date.now());
    return this.baseId(projectId, name) as number;
  }

  /** The item as stored JSON, or undefined (never an expired one). */
  async get(projectId: string, base: string, key: string): Promise<string | undefined> {
    const id = this.baseId(projectId, base);
    if (id === undefined) return undefined;
    return this.statements.get.get(id, key, this.now())?.value;
  }

  /** Stores prepared items, overwriting; all of them or, on any failure, none. */
  async put(projectId: string, base: string, items: readonly StoredItem[]): Promise<void> {
    this.db.transaction(() => {
      const id = this.ensureBase(projectId, base);
      for (const item of items) this.statements.upsert.run(id, item.key, item.json, item.expires);
    })();
  }

  /** Stores a prepared item unless one with its key exists: Deta's 409 "Key already exists". */
  async insert(projectId: string, base: string, item: StoredItem): Promise<void> {
    const inserted = this.db.transaction(() => {
      const id = this.ensureBase(projectId, base);
      return this.statements.insert.run(id, item.key, item.json, item.expires, this.now()).changes;
    })();
    if (inserted === 0) throw new DetaError(409, "Key already exists");
  }

  async delete(projectId: string, base: string, key: string): Promise<void> {
    const id = this.baseId(projectId, base);
    if (id !== undefined) this.statements.remove.run(id, key);
  }

  /** Reads, changes and writes the item in one transaction; 404 "Key not found" when there is none. */
  async update(projectId: string, base: string, key: string, update: Update): Promise<void> {
    this.db.transaction(() => {
      const id = this.baseId(projectId, base);
      const stored = id === undefined ? undefined : this.statements.get.get(id, key, this.now());
      if (id === undefined || !stored) throw keyNotFound();
      const next = finishItem(applyUpdate(JSON.parse(stored.value) as JsonObject, update));
      this.statements.write.run(next.json, next.expires, id, key);
    })();
  }

  /**
   * One page of a query, in key order (or reversed). At most `limit` matches, from at most 1 MB of items read
   * (matching or not, as Deta counted before filtering); `last` is set only when more may match (Deta's paging,
   * which the SDKs loop on).
   *
   * Rows are read in chunks of the key range. For each, SQLite first sums the chunk's bytes (from the rows' headers,
   * without reading the items); when the whole chunk fits in what is left of the budget, only the rows the filter
   * selects come back to JavaScript, which is what keeps a query that matches little fast. Where the budget runs
   * out, rows come back one by one, each with its size, so the page ends after the same row as if every row had
   * been read here.
   */
  async query(projectId: string, base: string, query: Query, options: QueryOptions = {}): Promise<QueryPage> {
    const id = this.baseId(projectId, base);
    if (id === undefined) return { items: [] };
    const range = keyRange(query.key);
    const filter = queryFilter(query);
    const scope = ["base_id = ?", "(expires IS NULL OR expires > ?)", ...range.sql];
    const scopeParams: SqlParam[] = [id, this.now(), ...range.params];
    const desc = options.desc === true;
    const order = desc ? "DESC" : "ASC";
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const selected = filter.where?.sql ?? "1";
    const selectedParams = filter.where?.params ?? [];
    const items: string[] = [];
    let lastReturned: string | undefined;
    let lastRead: string | undefined;
    let read = 0;
    /** Takes a row the filter selected: a full page and one more match means there is a next page. */
    const take = (key: string, value: string): QueryPage | undefined => {
      if (range.check && !range.check(key)) return undefined;
      if (!filter.exact && !matches(query, JSON.parse(value) as JsonObject)) return undefined;
      if (items.length >= limit) return { items, last: lastReturned };
      items.push(value);
      lastReturned = key;
      return undefined;
    };
    let cursor = options.last || undefined;
    for (;;) {
      const where = [...scope, ...(cursor === undefined ? [] : [desc ? "key < ?" : "key > ?"])];
      const whereParams = [...scopeParams, ...(cursor === undefined ? [] : [cursor])];
      const [count, bytes, end] = this.statement(
        `SELECT count(*), total(size), ${desc ? "min" : "max"}(key) FROM
           (SELECT key, octet_length(value) AS size FROM items WHERE ${where.join(" AND ")}
            ORDER BY key ${order} LIMIT ${QUERY_CHUNK})`,
      ).get(...whereParams) as [number, number, string | null];
      if (count === 0 || end === null) return { items };
      if (read + bytes < PAGE_SCAN_BYTES) {
        const rows = this.statement(
          `SELECT key, value FROM items WHERE ${[...where, desc ? "key >= ?" : "key <= ?", selected].join(" AND ")}
           ORDER BY key ${order}`,
        ).all(...whereParams, end, ...selectedParams) as [string, string][];
        for (const [key, value] of rows) {
          const full = take(key, value);
          if (full) return full;
        }
        read += bytes;
        lastRead = end;
        if (count < QUERY_CHUNK) return { items };
        cursor = end;
      } else {
        const rows = this.statement(
          `SELECT key, octet_length(value), CASE WHEN ${selected} THEN value END FROM items
           WHERE ${where.join(" AND ")} ORDER BY key ${order} LIMIT ${ROW_CHUNK}`,
        ).all(...selectedParams, ...whereParams) as [string, number, string | null][];
        for (const [key, size, value] of rows) {
          // Another row, but the budget is spent: the next page starts after what was read (or returned).
          if (read >= PAGE_SCAN_BYTES) return { items, last: items.length >= limit ? lastReturned : lastRead };
          read += size;
          lastRead = key;
          const full = value === null ? undefined : take(key, value);
          if (full) return full;
        }
        if (rows.length < ROW_CHUNK) return { items };
        cursor = lastRead;
      }
    }
  }

  /** Queries differ only in their conditions; their statements are kept, up to a hundred. Rows come as arrays. */
  private statement(sql: string): Statement {
    let statement = this.queries.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql).raw(true);
      if (this.queries.size >= 100) this.queries.delete(this.queries.keys().next().value as string);
      this.queries.set(sql, statement);
    }
    return statement;
  }

  /** The project's bases with how many items each holds. */
  async list(projectId: string): Promise<BaseSummary[]> {
    const rows = this.db
      .prepare(
        `SELECT b.name AS name, b.created_at AS createdAt,
           (SELECT count(*) FROM items i WHERE i.base_id = b.id AND (i.expires IS NULL OR i.expires > ?)) AS items
         FROM bases b WHERE b.project_id = ? ORDER BY b.name`,
      )
      .all(this.now(), projectId) as BaseSummary[];
    return rows;
  }

  /**
   * Deletes expired items, a thousand at a time and at most 20,000 per call, so that a mass expiry never holds the
   * event loop for long (the next sweep goes on); how many.
   */
  async sweep(): Promise<number> {
    let deleted = 0;
    for (let batch = 0; batch < 20; batch++) {
      const { changes } = this.statements.sweep.run(this.now());
      deleted += changes;
      if (changes < 1000) break;
    }
    return deleted;
  }

  /** Items go with their base (ON DELETE CASCADE). */
  async removeProject(projectId: string): Promise<void> {
    this.db.prepare("DELETE FROM bases WHERE project_id = ?").run(projectId);
    for (const cacheKey of this.baseIds.keys()) {
      if (cacheKey.startsWith(`${projectId}\u0000`)) this.baseIds.delete(cacheKey);
    }
  }
}
