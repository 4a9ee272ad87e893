import { randomBytes } from "node:crypto";
import { MicrosError } from "../../shared/errors.js";
import { newId } from "./ids.js";

export interface ApiKey {
  name: string;
  description: string;
  prefix: string;
  createdAt: number;
}

export interface ApiKeyRow {
  name: string;
  description: string;
  prefix: string;
  created_at: number;
}

export const toKey = (row: ApiKeyRow): ApiKey => ({
  name: row.name,
  description: row.description,
  prefix: row.prefix,
  createdAt: row.created_at,
});

/** A new key, `prefix.secret` as Deta had them. */
export function mintApiKey(): { prefix: string; key: string } {
  const prefix = newId(8);
  return { prefix, key: `${prefix}.${randomBytes(32).toString("base64url")}` };
}

export function apiKeyNameTaken(name: string, cause?: unknown): MicrosError {
  return new MicrosError("ERR_NAME_TAKEN", `The micro already has an API key named ${name}.`, { cause });
}

/** Per-micro API keys, as Deta had them: `prefix.secret`, shown once, stored as a hash. */
export interface ApiKeys {
  /** Creates a key and returns it whole: the only time it exists outside its holder's hands. */
  create(microId: string, name: string, description: string): Promise<{ key: string; apiKey: ApiKey }>;
  byName(microId: string, name: string): Promise<ApiKey | undefined>;
  list(microId: string): Promise<ApiKey[]>;
  delete(microId: string, name: string): Promise<boolean>;
  /** Whether `key` opens the micro: on the gateway's path, so one indexed lookup. */
  opens(microId: string, key: string): Promise<boolean>;
}
