import { MicrosError } from "../../shared/errors.js";
import type { Tokens } from "./tokens.js";

export interface User {
  id: string;
  name: string;
  isAdmin: boolean;
}

export interface UserRecord extends User {
  createdAt: number;
}

/** A users row as either store returns it: SQLite has no booleans, so flags come as 0/1 there. */
export interface UserRow {
  id: string;
  name: string;
  is_admin: number | boolean;
  created_at: number;
}

export function toUser(row: UserRow): User {
  return { id: row.id, name: row.name, isAdmin: Boolean(row.is_admin) };
}

/** What a create of a taken name gives, whichever store refused it: routes check first, this covers the race. */
export function userNameTaken(name: string, cause?: unknown): MicrosError {
  return new MicrosError("ERR_NAME_TAKEN", `A user named ${name} already exists.`, { cause });
}

export interface Users {
  readonly tokens: Tokens;
  create(name: string, isAdmin: boolean): Promise<User>;
  byName(name: string): Promise<User | undefined>;
  list(): Promise<UserRecord[]>;
  admins(): Promise<number>;
  /**
   * Deletes the user and, by cascade, their tokens, projects and micros with everything of theirs in this database.
   * What lives outside it (running instances, release folders) is the caller's to end: see `removeUser`.
   */
  delete(id: string): Promise<void>;
  /** Issues a token that never expires (the admin's first, a new user's first). */
  issueToken(userId: string, name: string): Promise<string>;
  /**
   * A small number of the user's own, stable while the user exists: it picks the host user their builds run as. A
   * later user may get it again only once this one is deleted.
   */
  serial(userId: string): Promise<number | undefined>;
  /**
   * The user a presented token opens, or undefined for a token that is unknown, revoked or expired. Everything
   * that authenticates people (the control API, the dashboard, private micros) asks here, so a revoked or expired
   * token is refused everywhere at once. `tokens.check` says why one was refused.
   */
  byToken(token: string): Promise<User | undefined>;
}
