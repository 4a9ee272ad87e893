import { MicrosError } from "../../shared/errors.js";
import type { LimitOverrides } from "../limits.js";

export interface Micro {
  id: string;
  projectId: string;
  name: string;
  subdomain: string;
  runtime: string;
  currentReleaseId: string | null;
  httpAuth: boolean;
  /** Whether the visor records request and response bodies. */
  visor: boolean;
  limits: LimitOverrides;
  createdAt: number;
}

/** A micros row as either store returns it: SQLite has no booleans, so flags come as 0/1 there. */
export interface MicroRow {
  id: string;
  project_id: string;
  name: string;
  subdomain: string;
  runtime: string;
  current_release_id: string | null;
  http_auth: number | boolean;
  visor: number | boolean;
  memory_bytes: number | null;
  timeout_ms: number | null;
  request_body_bytes: number | null;
  created_at: number;
}

export function toMicro(row: MicroRow): Micro {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    subdomain: row.subdomain,
    runtime: row.runtime,
    currentReleaseId: row.current_release_id,
    httpAuth: Boolean(row.http_auth),
    visor: Boolean(row.visor),
    limits: { memoryBytes: row.memory_bytes, timeoutMs: row.timeout_ms, requestBodyBytes: row.request_body_bytes },
    createdAt: row.created_at,
  };
}

/** The subdomain to try after `name` was taken server-wide: the name plus a short random suffix, DNS-label sized. */
export function suffixedSubdomain(name: string, suffix: string): string {
  return `${name.slice(0, 56)}-${suffix}`;
}

export function microNameTaken(name: string, cause?: unknown): MicrosError {
  return new MicrosError("ERR_NAME_TAKEN", `The project already has a micro named ${name}.`, { cause });
}

export interface Micros {
  /**
   * Creates a micro. Its subdomain is its name when that is free server-wide (names are only unique within a
   * project), otherwise the name plus a short random suffix; it never changes afterwards.
   */
  create(input: { projectId: string; name: string; runtime: string }): Promise<Micro>;
  byId(id: string): Promise<Micro | undefined>;
  byName(projectId: string, name: string): Promise<Micro | undefined>;
  /**
   * The micro at a subdomain, asked on every request through the gateway: answered from memory (the same frozen
   * object) until the micro changes.
   */
  bySubdomain(subdomain: string): Promise<Readonly<Micro> | undefined>;
  listByOwner(ownerId: string, projectId?: string): Promise<Micro[]>;
  /** Deletes the micro and, by cascade, its releases, variables and logs. */
  delete(id: string): Promise<void>;
  setVisor(id: string, enabled: boolean): Promise<void>;
  setHttpAuth(id: string, enabled: boolean): Promise<void>;
  rename(id: string, name: string): Promise<void>;
  setRuntime(id: string, runtime: string): Promise<void>;
  setLimits(id: string, limits: LimitOverrides): Promise<void>;
}
