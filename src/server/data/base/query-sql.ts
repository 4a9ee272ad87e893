import type { Json, JsonObject } from "./item.js";
import type { Condition, Query } from "./query.js";

/**
 * A Deta query's conditions as SQL over the stored item (`items.value`, the JSON that JSON.stringify wrote), so that
 * SQLite selects the matches and JavaScript parses none of the items it leaves out. Where SQL can say a condition
 * exactly, with Deta's semantics (`holds` in query.ts is the reference), it does; where it cannot, it says something
 * every match satisfies, and the store checks what it lets through in JavaScript.
 *
 * What makes SQL exact here:
 * - json_each at a path yields one row for a value that is not a list or an object, with a NULL key (a list's
 *   elements have their index, an object's attributes their name, a missing attribute no row at all), and its type
 *   tells JSON null, true and false from 0 and 1, integers and reals (both numbers to JavaScript) from text; every
 *   comparison is gated on the type Deta compares. One json_each per condition parses the item once: SQLite does
 *   not keep a parsed item between calls, so json_type and then json_extract would parse it twice.
 * - Paths walk objects only, as `valueAt` does: `$."a"."b"` finds nothing inside a list.
 * - SQLite reads numbers exactly as JavaScript does (round-tripped for random doubles) and compares an integer with a
 *   real exactly.
 * - Text compares byte-wise in UTF-8, which orders as JavaScript's UTF-16 code units do unless one side has a code
 *   unit from U+D800 up (a supplementary character against one from U+E000): order comparisons with such a needle
 *   are left to JavaScript. A lone surrogate in a stored string (JSON.stringify escapes it) reads back as its 3-byte
 *   form, which no well-formed needle can equal or contain; needles with a lone surrogate are left to JavaScript.
 * - Every positive term is 1, 0 or NULL, NULL only when the attribute is missing, where Deta's answer is "no"; a
 *   negation takes ifnull(term, 0) first, since NOT NULL is NULL.
 * - json_each is read as `items.value`: unqualified, `value` inside its subquery would be json_each's own column.
 */
export type SqlParam = string | number;

export interface Sql {
  sql: string;
  params: SqlParam[];
}

export interface QueryFilter {
  /** SQL every matching row satisfies; undefined when it would let every row through. */
  where?: Sql;
  /** Whether `where` (or its absence) selects exactly the matches, so that no item needs checking in JavaScript. */
  exact: boolean;
}

/** SQL text with parameters: values become `?`, Sql fragments are spliced in with theirs, in order. */
function sql(strings: TemplateStringsArray, ...values: (Sql | SqlParam)[]): Sql {
  let text = strings[0] as string;
  const params: SqlParam[] = [];
  values.forEach((value, index) => {
    if (typeof value === "object") {
      text += value.sql;
      params.push(...value.params);
    } else {
      text += "?";
      params.push(value);
    }
    text += strings[index + 1] as string;
  });
  return { sql: text, params };
}

/**
 * Terms joined by AND or OR as a balanced tree: SQLite refuses expressions deeper than 1000, which a long chain of
 * conditions (or of list elements) would otherwise reach.
 */
function join(terms: Sql[], operator: "AND" | "OR"): Sql {
  if (terms.length === 1) return terms[0] as Sql;
  const middle = Math.ceil(terms.length / 2);
  const left = join(terms.slice(0, middle), operator);
  const right = join(terms.slice(middle), operator);
  return { sql: `(${left.sql} ${operator} ${right.sql})`, params: [...left.params, ...right.params] };
}

/** Past this many parameters the query is checked in JavaScript: SQLite takes at most 32,766 per statement. */
const PARAM_LIMIT = 2000;
/** Past this many values, a list or object compared whole is checked in JavaScript (after a substring search). */
const EQUALITY_NODES_LIMIT = 64;

type Step = string | number;

/**
 * A JSON path for SQLite: attribute names quoted (`."name"`), list indexes in brackets; undefined for a name SQLite
 * cannot quote (a quote, a backslash or a control character, written escaped in the stored JSON) or one with a lone
 * surrogate (written escaped too).
 */
function jsonPath(steps: Step[]): string | undefined {
  let path = "$";
  for (const step of steps) {
    if (typeof step === "number") {
      path += `[${step}]`;
      continue;
    }
    if (LONE_SURROGATE.test(step) || [...step].some((char) => char < " " || char === '"' || char === "\\")) {
      return undefined;
    }
    path += `."${step}"`;
  }
  return path;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** A code unit from which UTF-8 and UTF-16 order characters differently. */
const SURROGATE_OR_ABOVE = /[\uD800-\uFFFF]/;

/**
 * The text a value has inside stored JSON, when it always has that text: stored items are written by
 * JSON.stringify, which writes a scalar (and a list of scalars) one way only and escapes character by character,
 * so an item holding the value holds its text. (Objects are not: their attributes may come in another order.)
 */
function storedText(value: Json): string | undefined {
  if (typeof value === "string") return LONE_SURROGATE.test(value) ? undefined : JSON.stringify(value);
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  if (Array.isArray(value) && value.every((element) => typeof element !== "object" || element === null)) {
    return value.every((element) => storedText(element) !== undefined) ? JSON.stringify(value) : undefined;
  }
  return undefined;
}

const typeAt = (path: string) => sql`json_type(items.value, ${path})`;

/** Whether the value at `path` is a scalar (not a list or an object) for which `test` on `scalar.type`/`.atom` holds. */
const scalarAt = (path: string, test: Sql) =>
  sql`EXISTS (SELECT 1 FROM json_each(items.value, ${path}) AS scalar WHERE scalar.key IS NULL AND ${test})`;

function countNodes(value: Json, limit: number): number {
  let count = 1;
  if (typeof value === "object" && value !== null) {
    for (const element of Object.values(value)) {
      count += countNodes(element, limit - count);
      if (count > limit) break;
    }
  }
  return count;
}

/** Deta's equality (deep for lists and objects) of the value at `steps` with `value`, exactly. */
function equalSql(steps: Step[], value: Json): Sql | undefined {
  const path = jsonPath(steps);
  if (path === undefined) return undefined;
  if (value === null) return scalarAt(path, sql`scalar.type = 'null'`);
  if (typeof value === "boolean") return scalarAt(path, sql`scalar.type = ${value ? "true" : "false"}`);
  if (typeof value === "number") {
    return scalarAt(path, sql`scalar.type IN ('integer', 'real') AND scalar.atom = ${value}`);
  }
  if (typeof value === "string") {
    return LONE_SURROGATE.test(value)
      ? undefined
      : scalarAt(path, sql`scalar.type = 'text' AND scalar.atom = ${value}`);
  }
  const entries: [Step, Json][] = Array.isArray(value)
    ? value.map((element, index) => [index, element])
    : Object.entries(value as JsonObject);
  const terms: Sql[] = Array.isArray(value)
    ? [sql`${typeAt(path)} = 'array'`, sql`json_array_length(items.value, ${path}) = ${entries.length}`]
    : [
        sql`${typeAt(path)} = 'object'`,
        sql`(SELECT count(*) FROM json_each(items.value, ${path})) = ${entries.length}`,
      ];
  for (const [step, element] of entries) {
    const term = equalSql([...steps, step], element);
    if (term === undefined) return undefined;
    terms.push(term);
  }
  return join(terms, "AND");
}

const ORDER_SQL = { lt: "<", gt: ">", lte: "<=", gte: ">=" } as const;

/** What the scalar must be (a number, or text) for an order comparison with `value`; undefined if inexact. */
function orderType(value: Json): Sql | undefined {
  if (typeof value === "number") return sql`scalar.type IN ('integer', 'real')`;
  if (typeof value === "string" && !SURROGATE_OR_ABOVE.test(value)) return sql`scalar.type = 'text'`;
  return undefined;
}

/**
 * A positive condition (eq, an order, pfx, r, contains) exactly, or undefined. Its value was checked by parseQuery
 * (pfx a string, r two numbers or two strings, orders a number or a string).
 */
function positiveSql(condition: Condition): Sql | undefined {
  const { op, value } = condition;
  if (op === "eq" || op === "ne") {
    return countNodes(value, EQUALITY_NODES_LIMIT) > EQUALITY_NODES_LIMIT ? undefined : equalSql(condition.path, value);
  }
  const path = jsonPath(condition.path);
  if (path === undefined) return undefined;
  switch (op) {
    case "lt":
    case "gt":
    case "lte":
    case "gte": {
      const type = orderType(value);
      const comparison: Sql = { sql: ORDER_SQL[op], params: [] };
      return type && scalarAt(path, sql`${type} AND scalar.atom ${comparison} ${value as SqlParam}`);
    }
    case "r": {
      const [low, high] = value as [SqlParam, SqlParam];
      const type = orderType(low);
      if (!type || orderType(high) === undefined) return undefined;
      return scalarAt(path, sql`${type} AND scalar.atom BETWEEN ${low} AND ${high}`);
    }
    case "pfx": {
      // Compared as bytes: a well-formed prefix's UTF-8 starts the UTF-8 of exactly the strings it starts.
      const prefix = value as string;
      if (LONE_SURROGATE.test(prefix)) return undefined;
      // substr of an empty string's bytes is NULL, not empty: every string starts with "".
      if (prefix === "") return scalarAt(path, sql`scalar.type = 'text'`);
      const bytes = Buffer.byteLength(prefix);
      return scalarAt(
        path,
        sql`scalar.type = 'text' AND substr(CAST(scalar.atom AS BLOB), 1, ${bytes}) = CAST(${prefix} AS BLOB)`,
      );
    }
    default: {
      // contains and not_contains: a substring of a string, or a string member of a list; nothing else ever.
      if (typeof value !== "string") return sql`0`;
      if (LONE_SURROGATE.test(value)) return undefined;
      // A string itself (NULL key) holds it as a substring; a list (index keys), as a member; an object, never.
      return sql`EXISTS (SELECT 1 FROM json_each(items.value, ${path}) AS part WHERE part.type = 'text' AND
        CASE WHEN part.key IS NULL THEN instr(part.atom, ${value}) > 0
             ELSE typeof(part.key) = 'integer' AND part.atom = ${value} END)`;
    }
  }
}

/**
 * Text the stored item must contain when the positive condition holds: a substring search on the row, far cheaper
 * than anything that parses it, tried first. (A string's text without its closing quote for a prefix, without
 * either for contains.)
 */
function neededText(condition: Condition): string | undefined {
  const { op, value } = condition;
  const text = storedText(value);
  if (text === undefined) return undefined;
  if (op === "eq" || op === "ne") return text;
  if (typeof value !== "string") return undefined;
  if (op === "pfx") return text.slice(0, -1);
  if (op === "contains" || op === "not_contains") return text.slice(1, -1);
  return undefined;
}

/**
 * For each ORed group, the texts its positive conditions need the stored item to contain: an item holding all of
 * no group's texts cannot match. Undefined when some group needs none, so that no item can be ruled out this way.
 */
export function neededTexts(query: Query): string[][] | undefined {
  const groups = query.groups.map((group) =>
    group.flatMap((condition) => {
      if (condition.op === "ne" || condition.op === "not_contains") return [];
      const text = neededText(condition);
      return text === undefined ? [] : [text];
    }),
  );
  return groups.some((texts) => texts.length === 0) ? undefined : groups;
}

interface GroupSql {
  /** Terms every match satisfies, cheap ones first; empty when SQL cannot narrow the group. */
  terms: Sql[];
  exact: boolean;
}

function groupSql(group: Condition[]): GroupSql {
  const cheap: Sql[] = [];
  const parsing: Sql[] = [];
  let exact = true;
  for (const condition of group) {
    const needed = neededText(condition);
    const positive = positiveSql(condition);
    if (positive === undefined) exact = false;
    if (condition.op === "ne" || condition.op === "not_contains") {
      // Holds wherever the positive cannot: the text is missing, or the positive is false (or NULL: missing).
      if (positive === undefined) continue;
      const negative = sql`NOT ifnull((${positive}), 0)`;
      parsing.push(needed === undefined ? negative : sql`(instr(items.value, ${needed}) = 0 OR ${negative})`);
    } else {
      if (needed !== undefined) cheap.push(sql`instr(items.value, ${needed}) > 0`);
      if (positive !== undefined) parsing.push(sql`(${positive})`);
    }
  }
  return { terms: [...cheap, ...parsing], exact };
}

/** The query's conditions (not the key's, which the store reads as a range) as a filter on the rows. */
export function queryFilter(query: Query): QueryFilter {
  if (query.groups.some((group) => group.length === 0)) return { exact: true };
  const groups = query.groups.map(groupSql);
  const exact = groups.every((group) => group.exact);
  if (groups.some((group) => group.terms.length === 0)) return { exact };
  const where = join(
    groups.map((group) => join(group.terms, "AND")),
    "OR",
  );
  if (where.params.length > PARAM_LIMIT) return { exact: false };
  return { where, exact };
}
