import type { StoredItem } from "./item.js";
import type { Query } from "./query.js";
import type { Update } from "./update.js";

/** Deta read up to 1 MB of items for one page of a query before filtering; so do we, so one query is bounded. */
export const PAGE_SCAN_BYTES = 1024 * 1024;

export interface QueryOptions {
  limit?: number;
  last?: string;
  desc?: boolean;
}

export interface QueryPage {
  /** The matching items, as stored JSON. */
  items: string[];
  /** Present only when more items may match: where the next page starts. */
  last?: string;
}

export interface BaseSummary {
  name: string;
  items: number;
  createdAt: number;
}

/** Seconds since the epoch: the unit of `__expires`. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now() / 1000;

/**
 * Deta Base for every project: what the routes (data services, control API) call, whichever store holds the items
 * (SQLite in `base-store.ts`, PostgreSQL in `pg-base-store.ts`). Keys are ordered by their UTF-8 bytes; items whose
 * `__expires` has passed are never returned; a failed write changes nothing. test/unit/base-store.test.ts holds both
 * to the same answers.
 */
export interface Bases {
  /** The item as stored JSON, or undefined (never an expired one). */
  get(projectId: string, base: string, key: string): Promise<string | undefined>;
  /** Stores prepared items, overwriting; all of them or, on any failure, none. */
  put(projectId: string, base: string, items: readonly StoredItem[]): Promise<void>;
  /** Stores a prepared item unless one with its key exists: Deta's 409 "Key already exists". */
  insert(projectId: string, base: string, item: StoredItem): Promise<void>;
  delete(projectId: string, base: string, key: string): Promise<void>;
  /** Reads, changes and writes the item as one step; 404 "Key not found" when there is none. */
  update(projectId: string, base: string, key: string, update: Update): Promise<void>;
  /**
   * One page of a query, in key order (or reversed). At most `limit` matches, from at most 1 MB of items read
   * (matching or not, as Deta counted before filtering); `last` is set only when more may match.
   */
  query(projectId: string, base: string, query: Query, options?: QueryOptions): Promise<QueryPage>;
  /** The project's bases with how many items each holds, by name. */
  list(projectId: string): Promise<BaseSummary[]>;
  /** Deletes expired items, a bounded number per call; how many. */
  sweep(): Promise<number>;
  /** Deletes every base of a deleted project, with its items. */
  removeProject(projectId: string): Promise<void>;
}
