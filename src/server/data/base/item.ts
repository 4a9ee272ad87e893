import { newId } from "../../store/ids.js";
import { badRequest } from "../deta-error.js";

export type Json = null | boolean | number | string | Json[] | { [name: string]: Json };
export type JsonObject = { [name: string]: Json };

/** Deta Base's limits (docs/base/HTTP.md), and ours where Deta named none. */
export const ITEM_LIMIT_BYTES = 400 * 1024;
export const BATCH_LIMIT = 25;
/** Deta stored numbers of up to 16 digits and asked for larger ones as strings. */
const NUMBER_LIMIT = 1e16;
/** Keys travel in URLs; DynamoDB, under Deta, allowed 2 KB. */
export const KEY_LIMIT_BYTES = 1024;
/** Nesting beyond this is refused before anything walks it (DynamoDB's limit was 32). */
const DEPTH_LIMIT = 64;
export const TTL_ATTRIBUTE = "__expires";

/** A stored item: the item itself, its JSON as stored, and its expiry (Unix seconds) when it has one. */
export interface StoredItem {
  key: string;
  json: string;
  expires: number | null;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deta's generated keys: 12 lowercase letters and digits (`qzb6preouoau`). */
export function generateKey(): string {
  return newId(12);
}

/** Why this key cannot be stored, or undefined. */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== "string") return "Key must be a string";
  if (key.length === 0) return "Key is empty";
  if (Buffer.byteLength(key) > KEY_LIMIT_BYTES) return `Key is longer than ${KEY_LIMIT_BYTES} bytes`;
  return undefined;
}

/**
 * Checks what every stored item must satisfy: attribute names are not empty, numbers have at most 16 digits,
 * nesting is bounded, `__expires` is a number. Walks without recursion, so a deep item cannot exhaust the stack.
 */
function checkValues(item: JsonObject): void {
  const stack: [Json, number][] = [[item, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [Json, number];
    if (typeof value === "number") {
      if (!Number.isFinite(value) || Math.abs(value) >= NUMBER_LIMIT) {
        throw badRequest(`Number ${value} has more than 16 digits: store it as a string`);
      }
    } else if (typeof value === "object" && value !== null) {
      if (depth >= DEPTH_LIMIT) throw badRequest(`Item is nested deeper than ${DEPTH_LIMIT} levels`);
      if (Array.isArray(value)) {
        for (const element of value) stack.push([element, depth + 1]);
      } else {
        for (const [name, element] of Object.entries(value)) {
          if (name === "") throw badRequest("Attribute names can't be empty");
          stack.push([element, depth + 1]);
        }
      }
    }
  }
  const expires = item[TTL_ATTRIBUTE];
  if (expires !== undefined && typeof expires !== "number") {
    throw badRequest(`${TTL_ATTRIBUTE} must be a number (Unix seconds)`);
  }
}

/** An item as it will be stored: checked, its key given (or generated), serialized and measured. */
export function prepareItem(raw: unknown): StoredItem & { item: JsonObject } {
  if (!isObject(raw)) throw badRequest("Item must be an object");
  let item = raw;
  if (item.key === undefined) item = { key: generateKey(), ...item };
  const problem = keyProblem(item.key);
  if (problem) throw badRequest(problem);
  return finishItem(item);
}

/** Checks a whole item (with its key) and serializes it. */
export function finishItem(item: JsonObject): StoredItem & { item: JsonObject } {
  checkValues(item);
  const json = JSON.stringify(item);
  if (Buffer.byteLength(json) > ITEM_LIMIT_BYTES) {
    throw badRequest(`Item with key ${item.key} is larger than 400 KB`);
  }
  const expires = item[TTL_ATTRIBUTE];
  return { item, key: item.key as string, json, expires: typeof expires === "number" ? expires : null };
}
