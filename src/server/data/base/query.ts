import { badRequest } from "../deta-error.js";
import { isObject, type Json, type JsonObject } from "./item.js";

/**
 * Deta Base queries (docs/base/queries.md): a list of objects, ORed; the conditions of one object, ANDed. A
 * condition is `"path?op": value`, the path dotted into nested objects. Anything malformed is Deta's 400 "Bad query".
 *
 * Conditions on `key` are special, as in Deta: strings only, no contains, and the same one condition (or none) in
 * every ORed object. That makes the key condition a single range of the primary key, which the store reads in
 * order; the other conditions are checked on each item, after a cheap prefilter in SQL where one is exact enough.
 */
export type Operator = "eq" | "ne" | "lt" | "gt" | "lte" | "gte" | "pfx" | "r" | "contains" | "not_contains";

const OPERATORS: Record<string, Operator> = {
  ne: "ne",
  lt: "lt",
  "<": "lt",
  gt: "gt",
  ">": "gt",
  lte: "lte",
  "<=": "lte",
  gte: "gte",
  ">=": "gte",
  pfx: "pfx",
  r: "r",
  contains: "contains",
  not_contains: "not_contains",
  "!contains": "not_contains",
};

export interface Condition {
  path: string[];
  op: Operator;
  value: Json;
}

export interface KeyCondition {
  op: Exclude<Operator, "contains" | "not_contains">;
  value: string | [string, string];
}

export interface Query {
  /** ORed groups of ANDed conditions; one empty group matches everything. */
  groups: Condition[][];
  key: KeyCondition | undefined;
}

export const BAD_QUERY = "Bad query";
const bad = () => badRequest(BAD_QUERY);

const comparable = (value: unknown): value is number | string => typeof value === "number" || typeof value === "string";

function checkValue(op: Operator, value: Json, isKey: boolean): void {
  switch (op) {
    case "pfx":
      if (typeof value !== "string") throw bad();
      return;
    case "r":
      if (!Array.isArray(value) || value.length !== 2) throw bad();
      if (!comparable(value[0]) || typeof value[0] !== typeof value[1]) throw bad();
      if (isKey && typeof value[0] !== "string") throw bad();
      return;
    case "lt":
    case "gt":
    case "lte":
    case "gte":
      if (!comparable(value) || (isKey && typeof value !== "string")) throw bad();
      return;
    case "contains":
    case "not_contains":
      if (isKey) throw bad();
      return;
    default:
      if (isKey && typeof value !== "string") throw bad();
  }
}

function parseGroup(group: JsonObject): { conditions: Condition[]; key: KeyCondition | undefined } {
  const conditions: Condition[] = [];
  let key: KeyCondition | undefined;
  for (const [name, value] of Object.entries(group)) {
    const mark = name.indexOf("?");
    const attribute = mark === -1 ? name : name.slice(0, mark);
    const op = mark === -1 ? "eq" : OPERATORS[name.slice(mark + 1)];
    if (!op || attribute === "") throw bad();
    const path = attribute.split(".");
    if (path.some((segment) => segment === "")) throw bad();
    const isKey = attribute === "key";
    checkValue(op, value, isKey);
    if (isKey) {
      if (key) throw bad();
      key = { op: op as KeyCondition["op"], value: value as KeyCondition["value"] };
    } else {
      conditions.push({ path, op, value });
    }
  }
  return { conditions, key };
}

const sameKey = (a: KeyCondition | undefined, b: KeyCondition | undefined) =>
  a === b ||
  (a !== undefined && b !== undefined && a.op === b.op && JSON.stringify(a.value) === JSON.stringify(b.value));

/** A query as sent (`query` of POST /query: a list, one object, or nothing), checked. */
export function parseQuery(raw: unknown): Query {
  if (raw === undefined || raw === null) return { groups: [[]], key: undefined };
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) return { groups: [[]], key: undefined };
  const groups: Condition[][] = [];
  let key: KeyCondition | undefined;
  list.forEach((entry, index) => {
    if (!isObject(entry)) throw bad();
    const parsed = parseGroup(entry);
    if (index > 0 && !sameKey(key, parsed.key)) throw bad();
    key = parsed.key;
    groups.push(parsed.conditions);
  });
  return { groups, key };
}

/** The value at a dotted path, walking nested objects only. */
function valueAt(item: JsonObject, path: string[]): Json | undefined {
  let value: Json | undefined = item;
  for (const segment of path) {
    if (!isObject(value) || !Object.hasOwn(value, segment)) return undefined;
    value = value[segment];
  }
  return value;
}

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((element, index) => deepEqual(element, b[index]));
  }
  const aObject = a as JsonObject;
  const bObject = b as JsonObject;
  const names = Object.keys(aObject);
  return (
    names.length === Object.keys(bObject).length &&
    names.every((name) => Object.hasOwn(bObject, name) && deepEqual(aObject[name], bObject[name]))
  );
}

/** Order between two numbers or two strings; undefined for anything else (which no comparison matches). */
function order(a: Json | undefined, b: Json): number | undefined {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function contains(found: Json | undefined, value: Json): boolean {
  if (typeof value !== "string") return false;
  if (typeof found === "string") return found.includes(value);
  // Membership in lists of strings only, as Deta documented.
  return Array.isArray(found) && found.includes(value);
}

function holds(condition: Condition, item: JsonObject): boolean {
  const found = valueAt(item, condition.path);
  const { op, value } = condition;
  switch (op) {
    case "eq":
      return found !== undefined && deepEqual(found, value);
    case "ne":
      return !(found !== undefined && deepEqual(found, value));
    case "pfx":
      return typeof found === "string" && found.startsWith(value as string);
    case "contains":
      return contains(found, value);
    case "not_contains":
      return !contains(found, value);
    case "r": {
      const [low, high] = value as [Json, Json];
      const fromLow = order(found, low);
      const toHigh = order(found, high);
      return fromLow !== undefined && toHigh !== undefined && fromLow >= 0 && toHigh <= 0;
    }
    default: {
      const difference = order(found, value);
      if (difference === undefined) return false;
      if (op === "lt") return difference < 0;
      if (op === "gt") return difference > 0;
      if (op === "lte") return difference <= 0;
      return difference >= 0;
    }
  }
}

/** Whether the item matches the query's non-key conditions (the store applies the key condition). */
export function matches(query: Query, item: JsonObject): boolean {
  return query.groups.some((group) => group.every((condition) => holds(condition, item)));
}

/** The key condition as a range of the primary key, and a check for what a range cannot say exactly. */
export function keyRange(key: KeyCondition | undefined): {
  sql: string[];
  params: string[];
  check?: (key: string) => boolean;
} {
  if (!key) return { sql: [], params: [] };
  const value = key.value;
  switch (key.op) {
    case "eq":
      return { sql: ["key = ?"], params: [value as string] };
    case "ne":
      return { sql: ["key <> ?"], params: [value as string] };
    case "lt":
      return { sql: ["key < ?"], params: [value as string] };
    case "gt":
      return { sql: ["key > ?"], params: [value as string] };
    case "lte":
      return { sql: ["key <= ?"], params: [value as string] };
    case "gte":
      return { sql: ["key >= ?"], params: [value as string] };
    case "r":
      return { sql: ["key >= ?", "key <= ?"], params: [...(value as [string, string])] };
    case "pfx": {
      // Keys with the prefix sort (byte-wise, as SQLite compares) from it up to it followed by the highest code
      // point, repeated so that only keys continuing with four of those noncharacters fall outside. The check is a
      // second guard on what the range lets through.
      const prefix = value as string;
      return {
        sql: ["key >= ?", "key <= ?"],
        params: [prefix, `${prefix}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}`],
        check: (candidate) => candidate.startsWith(prefix),
      };
    }
  }
}
