import { badRequest, DetaError } from "../deta-error.js";
import { isObject, type Json, type JsonObject } from "./item.js";

/**
 * PATCH /items/{key} (docs/base/HTTP.md): `set`, `increment`, `append`, `prepend` and `delete`, each naming
 * attributes by dotted paths. The SDKs send all five, mostly empty.
 */
export interface Update {
  set: JsonObject;
  increment: Record<string, number>;
  append: Record<string, Json[]>;
  prepend: Record<string, Json[]>;
  delete: string[];
}

type Operation = Exclude<keyof Update, "delete">;

function paths(names: string[]): string[][] {
  return names.map((name) => {
    const path = name.split(".");
    if (path.some((segment) => segment === "")) throw badRequest(`Attribute name ${JSON.stringify(name)} is not valid`);
    return path;
  });
}

/** The body of PATCH /items/{key}, checked without the item: shapes, the key left alone, no overlaps. */
export function parseUpdate(body: unknown): Update {
  if (!isObject(body)) throw badRequest("The body must be an object with set, increment, append, prepend or delete");
  const update: Update = { set: {}, increment: {}, append: {}, prepend: {}, delete: [] };
  for (const [field, value] of Object.entries(body)) {
    if (field === "delete") {
      if (!Array.isArray(value) || value.some((name) => typeof name !== "string")) {
        throw badRequest("delete must be a list of attribute names");
      }
      update.delete = value as string[];
    } else if (field === "set" || field === "increment" || field === "append" || field === "prepend") {
      if (value === null) continue;
      if (!isObject(value)) throw badRequest(`${field} must be an object`);
      update[field] = value as never;
    } else {
      throw badRequest(`Unknown update operation ${field}`);
    }
  }
  for (const [name, amount] of Object.entries(update.increment)) {
    if (typeof amount !== "number") throw badRequest(`Increment of ${name} must be a number`);
  }
  for (const field of ["append", "prepend"] as const) {
    for (const [name, list] of Object.entries(update[field])) {
      if (!Array.isArray(list)) throw badRequest(`Value to ${field} to ${name} must be a list`);
    }
  }
  const names = [
    ...Object.keys(update.set),
    ...Object.keys(update.increment),
    ...Object.keys(update.append),
    ...Object.keys(update.prepend),
    ...update.delete,
  ];
  if (names.length === 0) throw badRequest("No attributes to update");
  const all = paths(names);
  if (all.some((path) => path[0] === "key")) throw badRequest("The key can't be updated or deleted");
  // As DynamoDB (under Deta) refused: two operations on one attribute, or on an attribute and a part of it.
  const seen = all.map((path) => path.join("\u0000"));
  for (let i = 0; i < seen.length; i++) {
    for (let j = i + 1; j < seen.length; j++) {
      const [a, b] = [seen[i] as string, seen[j] as string];
      if (a === b || a.startsWith(`${b}\u0000`) || b.startsWith(`${a}\u0000`)) {
        throw badRequest(`Conflicting updates of ${names[i]} and ${names[j]}`);
      }
    }
  }
  return update;
}

/** The object that holds the attribute at `path`, which must exist (Deta's rule for `a.b` when `a` is missing). */
function parentOf(item: JsonObject, path: string[], name: string): JsonObject {
  let parent: Json = item;
  for (const segment of path.slice(0, -1)) {
    // Own attributes only: `__proto__.x` must never reach a prototype.
    const next: Json | undefined = Object.hasOwn(parent as JsonObject, segment)
      ? (parent as JsonObject)[segment]
      : undefined;
    if (!isObject(next)) {
      throw badRequest(`Can't update ${name}: ${segment} does not exist or is not an object`);
    }
    parent = next;
  }
  return parent as JsonObject;
}

/** Sets an own attribute, whatever its name (`__proto__` included). */
function put(target: JsonObject, name: string, value: Json): void {
  Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
}

function apply(item: JsonObject, operation: Operation, name: string, value: Json): void {
  const path = name.split(".");
  const parent = parentOf(item, path, name);
  const last = path[path.length - 1] as string;
  const current = Object.hasOwn(parent, last) ? parent[last] : undefined;
  switch (operation) {
    case "set":
      put(parent, last, value);
      return;
    case "increment":
      if (current !== undefined && typeof current !== "number") {
        throw badRequest(`Can't increment ${name}: it is not a number`);
      }
      put(parent, last, (current ?? 0) + (value as number));
      return;
    default:
      if (current !== undefined && !Array.isArray(current)) {
        throw badRequest(`Can't ${operation} to ${name}: it is not a list`);
      }
      put(
        parent,
        last,
        operation === "append"
          ? [...(current ?? []), ...(value as Json[])]
          : [...(value as Json[]), ...(current ?? [])],
      );
  }
}

function remove(item: JsonObject, name: string): void {
  const path = name.split(".");
  let parent: Json | undefined = item;
  for (const segment of path.slice(0, -1)) {
    parent = isObject(parent) && Object.hasOwn(parent, segment) ? parent[segment] : undefined;
  }
  if (isObject(parent)) delete parent[path[path.length - 1] as string];
}

/** Applies the update to the item (freshly parsed from storage; the caller checks and stores the result). */
export function applyUpdate(next: JsonObject, update: Update): JsonObject {
  for (const operation of ["set", "increment", "append", "prepend"] as const) {
    for (const [name, value] of Object.entries(update[operation])) apply(next, operation, name, value as Json);
  }
  for (const name of update.delete) remove(next, name);
  return next;
}

export const keyNotFound = () => new DetaError(404, "Key not found");
