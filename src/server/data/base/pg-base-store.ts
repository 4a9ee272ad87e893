import type { PgDb, Sql } from "../../store/postgres/database.js";
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
import { neededTexts } from "./query-sql.js";
import { applyUpdate, keyNotFound, type Update } from "./update.js";

/**
 * Rows a query reads per statement. Only their keys and sizes always come back; an item's JSON comes back only
 * when it is within the page's 1 MB and may match, so a chunk holds at most about 1 MB of items plus 1 MB of keys.
 */
const QUERY_CHUNK = 1024;
/** Past this many texts the prefilter is left out: the query is checked in JavaScript alone. */
const PREFILTER_LIMIT = 2000;
/** Expired items deleted per statement, and statements per sweep, as on SQLite. */
const SWEEP_BATCH = 1000;
const SWEEP_BATCHES = 20;

/** Keys are stored as their UTF-8 bytes: ordered as SQLite orders text, and NUL is a character like any other. */
const bytes = (key: string) => Buffer.from(key, "utf8");

/**
 * Deta Base on PostgreSQL, shared by every server on the database: one table of items keyed by (base, key bytes).
 * Every write is one statement, or a transaction that locks what it reads, so writes from several servers never
 * lose one another: an update (an `increment`, say) reads its item with FOR UPDATE, which makes a concurrent update
 * of the same item wait and then read what this one wrote. A batch locks its items in key order, so two batches
 * never wait on each other in a circle.
 *
 * Queries are checked in JavaScript with the reference `matches()` (query.ts), over the key range read in chunks in
 * key order, with the page's 1 MB counted row by row exactly as on SQLite. PostgreSQL narrows what comes back only
 * by a substring search for text every match must contain (`neededTexts`), which rules out no item that matches.
 */
export class PgBaseStore implements Bases {
  /** Bases are never renamed and their ids never reused, so an id, once seen, holds until the project goes. */
  private readonly baseIds = new Map<string, number>();

  constructor(
    private readonly db: PgDb,
    private readonly now: Clock = systemClock,
  ) {}

  private async baseId(projectId: string, name: string): Promise<number | undefined> {
    const cacheKey = `${projectId}\u0000${name}`;
    const cached = this.baseIds.get(cacheKey);
    if (cached !== undefined) return cached;
    const row = await this.db.row<{ id: number }>("SELECT id FROM bases WHERE project_id = $1 AND name = $2", [
      projectId,
      name,
    ]);
    if (row) this.baseIds.set(cacheKey, row.id);
    return row?.id;
  }

  /**
   * Bases are made by their first write, as Deta's were. Two servers making one at once: the second's insert waits
   * for the first's and does nothing, and its next statement sees the first's row.
   */
  private async ensureBase(projectId: string, name: string): Promise<number> {
    const id = await this.baseId(projectId, name);
    if (id !== undefined) return id;
    await this.db.run(
      "INSERT INTO bases (project_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (project_id, name) DO NOTHING",
      [projectId, name, Date.now()],
    );
    return (await this.baseId(projectId, name)) as number;
  }

  async get(projectId: string, base: string, key: string): Promise<string | undefined> {
    const id = await this.baseId(projectId, base);
    if (id === undefined) return undefined;
    const row = await this.db.row<{ value: string }>(
      "SELECT value FROM base_items WHERE base_id = $1 AND key = $2 AND (expires IS NULL OR expires > $3)",
      [id, bytes(key), this.now()],
    );
    return row?.value;
  }

  /** One statement: all of the items or none. Later items of one key win, as on SQLite, where each overwrites. */
  async put(projectId: string, base: string, items: readonly StoredItem[]): Promise<void> {
    if (items.length === 0) return;
    const id = await this.ensureBase(projectId, base);
    const byKey = new Map<string, StoredItem>();
    for (const item of items) byKey.set(item.key, item);
    const rows = [...byKey.values()]
      .map((item) => ({ key: bytes(item.key), item }))
      .sort((a, b) => Buffer.compare(a.key, b.key));
    await this.db.run(
      `INSERT INTO base_items (base_id, key, value, expires)
       SELECT $1, item.key, item.value, item.expires
       FROM unnest($2::bytea[], $3::text[], $4::float8[]) WITH ORDINALITY AS item (key, value, expires, position)
       ORDER BY item.position
       ON CONFLICT (base_id, key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires`,
      [id, rows.map((row) => row.key), rows.map((row) => row.item.json), rows.map((row) => row.item.expires)],
    );
  }

  /** An expired item is gone: inserting over it succeeds. One statement, so two inserts of one key: one wins. */
  async insert(projectId: string, base: string, item: StoredItem): Promise<void> {
    const id = await this.ensureBase(projectId, base);
    const inserted = await this.db.run(
      `INSERT INTO base_items (base_id, key, value, expires) VALUES ($1, $2, $3, $4)
       ON CONFLICT (base_id, key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires
       WHERE base_items.expires IS NOT NULL AND base_items.expires <= $5`,
      [id, bytes(item.key), item.json, item.expires, this.now()],
    );
    if (inserted === 0) throw new DetaError(409, "Key already exists");
  }

  async delete(projectId: string, base: string, key: string): Promise<void> {
    const id = await this.baseId(projectId, base);
    if (id !== undefined) await this.db.run("DELETE FROM base_items WHERE base_id = $1 AND key = $2", [id, bytes(key)]);
  }

  async update(projectId: string, base: string, key: string, update: Update): Promise<void> {
    const id = await this.baseId(projectId, base);
    if (id === undefined) throw keyNotFound();
    await this.db.transaction(async (tx: Sql) => {
      const stored = await tx.row<{ value: string }>(
        `SELECT value FROM base_items WHERE base_id = $1 AND key = $2 AND (expires IS NULL OR expires > $3)
         FOR UPDATE`,
        [id, bytes(key), this.now()],
      );
      if (!stored) throw keyNotFound();
      const next = finishItem(applyUpdate(JSON.parse(stored.value) as JsonObject, update));
      await tx.run("UPDATE base_items SET value = $1, expires = $2 WHERE base_id = $3 AND key = $4", [
        next.json,
        next.expires,
        id,
        bytes(key),
      ]);
    });
  }

  async query(projectId: string, base: string, query: Query, options: QueryOptions = {}): Promise<QueryPage> {
    const id = await this.baseId(projectId, base);
    if (id === undefined) return { items: [] };
    const desc = options.desc === true;
    const order = desc ? "DESC" : "ASC";
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const params: unknown[] = [id, this.now()];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const range = keyRange(query.key);
    let next = 0;
    const scope = [
      "base_id = $1",
      "(expires IS NULL OR expires > $2)",
      ...range.sql.map((term) => term.replace("?", () => param(bytes(range.params[next++] as string)))),
    ];
    const prefilter = prefilterSql(query, param);
    // What is left of the page's budget, and where the chunk starts, change from chunk to chunk: the last parameters.
    const remainingAt = `$${params.length + 1}`;
    const cursorAt = `$${params.length + 2}`;
    const chunkSql = (withCursor: boolean) =>
      `SELECT key, size,
         CASE WHEN coalesce(sum(size) OVER (ORDER BY key ${order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                   < ${remainingAt} AND ${prefilter} THEN value END AS value
       FROM (SELECT key, value, octet_length(value) AS size FROM base_items
             WHERE ${[...scope, ...(withCursor ? [`key ${desc ? "<" : ">"} ${cursorAt}`] : [])].join(" AND ")}
             ORDER BY key ${order} LIMIT ${QUERY_CHUNK}) AS chunk
       ORDER BY key ${order}`;
    const items: string[] = [];
    let lastReturned: string | undefined;
    let lastRead: string | undefined;
    let read = 0;
    let cursor: Buffer | undefined = options.last ? bytes(options.last) : undefined;
    for (;;) {
      const rows = await this.db.rows<{ key: Buffer; size: number; value: string | null }>(
        chunkSql(cursor !== undefined),
        [...params, PAGE_SCAN_BYTES - read, ...(cursor === undefined ? [] : [cursor])],
      );
      for (const row of rows) {
        // Another row, but the budget is spent: the next page starts after what was read (or returned).
        if (read >= PAGE_SCAN_BYTES) return { items, last: items.length >= limit ? lastReturned : lastRead };
        read += row.size;
        const key = row.key.toString("utf8");
        lastRead = key;
        // No value: the prefilter ruled it out (the budget cannot have, or the page would have ended above).
        if (row.value === null) continue;
        if (range.check && !range.check(key)) continue;
        if (!matches(query, JSON.parse(row.value) as JsonObject)) continue;
        // A full page and one more match: there is a next page.
        if (items.length >= limit) return { items, last: lastReturned };
        items.push(row.value);
        lastReturned = key;
      }
      if (rows.length < QUERY_CHUNK) return { items };
      cursor = (rows[rows.length - 1] as { key: Buffer }).key;
    }
  }

  async list(projectId: string): Promise<BaseSummary[]> {
    return this.db.rows<BaseSummary>(
      `SELECT b.name AS name, b.created_at AS "createdAt",
         (SELECT count(*) FROM base_items i WHERE i.base_id = b.id AND (i.expires IS NULL OR i.expires > $1)) AS items
       FROM bases b WHERE b.project_id = $2 ORDER BY b.name COLLATE "C"`,
      [this.now(), projectId],
    );
  }

  /**
   * Deletes expired items, a thousand at a time and at most 20,000 per call. Servers sweeping at once each take
   * rows the others have not locked (SKIP LOCKED), so none waits on another, and an item being updated is left
   * for the next sweep.
   */
  async sweep(): Promise<number> {
    let deleted = 0;
    for (let batch = 0; batch < SWEEP_BATCHES; batch++) {
      const count = await this.db.run(
        `DELETE FROM base_items WHERE (base_id, key) IN
           (SELECT base_id, key FROM base_items WHERE expires IS NOT NULL AND expires <= $1
            LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`,
        [this.now()],
      );
      deleted += count;
      if (count < SWEEP_BATCH) break;
    }
    return deleted;
  }

  async removeProject(projectId: string): Promise<void> {
    await this.db.run("DELETE FROM bases WHERE project_id = $1", [projectId]);
    for (const cacheKey of this.baseIds.keys()) {
      if (cacheKey.startsWith(`${projectId}\u0000`)) this.baseIds.delete(cacheKey);
    }
  }
}

/**
 * SQL true for every stored item that may match: in some ORed group, the item's JSON contains each text that
 * group's positive conditions need (`neededTexts`). `true` when no text rules anything out.
 */
function prefilterSql(query: Query, param: (value: unknown) => string): string {
  const groups = neededTexts(query);
  if (!groups || groups.flat().length > PREFILTER_LIMIT) return "true";
  return `(${groups.map((texts) => `(${texts.map((text) => `strpos(value, ${param(text)}) > 0`).join(" AND ")})`).join(" OR ")})`;
}
