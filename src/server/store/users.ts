import type { Db } from "./database.js";
import { newId } from "./ids.js";
import { Tokens } from "./tokens.js";

export interface User {
  id: string;
  name: string;
  isAdmin: boolean;
}

export interface UserRecord extends User {
  createdAt: number;
}

interface UserRow {
  id: string;
  name: string;
  is_admin: number;
  created_at: number;
}

function toUser(row: UserRow): User {
  return { id: row.id, name: row.name, isAdmin: row.is_admin === 1 };
}

export class Users {
  readonly tokens: Tokens;
  private readonly byIdStmt;

  constructor(
    private readonly db: Db,
    /** The clock tokens expire by, injectable for tests. */
    now: () => number = Date.now,
  ) {
    this.tokens = new Tokens(db, now);
    this.byIdStmt = db.prepare("SELECT * FROM users WHERE id = ?");
  }

  create(name: string, isAdmin: boolean): User {
    const id = newId();
    this.db
      .prepare("INSERT INTO users (id, name, is_admin, created_at) VALUES (?, ?, ?, ?)")
      .run(id, name, isAdmin ? 1 : 0, Date.now());
    return { id, name, isAdmin };
  }

  byName(name: string): User | undefined {
    const row = this.db.prepare("SELECT * FROM users WHERE name = ?").get(name) as UserRow | undefined;
    return row && toUser(row);
  }

  list(): UserRecord[] {
    const rows = this.db.prepare("SELECT * FROM users ORDER BY name").all() as UserRow[];
    return rows.map((row) => ({ ...toUser(row), createdAt: row.created_at }));
  }

  admins(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM users WHERE is_admin = 1").get() as { n: number }).n;
  }

  /**
   * Deletes the user and, by cascade, their tokens, projects and micros with everything of theirs in this database.
   * What lives outside it (running instances, release folders) is the caller's to end: see `removeUser`.
   */
  delete(id: string): void {
    this.db.prepare("DELETE FROM users WHERE id = ?").run(id);
  }

  /** Issues a token that never expires (the admin's first, a new user's first). */
  issueToken(userId: string, name: string): string {
    return this.tokens.issue(userId, name).token;
  }

  /**
   * A small number of the user's own, stable while the user exists: it picks the host user their builds run
   * as. SQLite's rowid, which a later user may get again only once this one is deleted.
   */
  serial(userId: string): number | undefined {
    const row = this.db.prepare("SELECT rowid AS serial FROM users WHERE id = ?").get(userId) as
      | { serial: number }
      | undefined;
    return row?.serial;
  }

  /**
   * The user a presented token opens, or undefined for a token that is unknown, revoked or expired. Everything
   * that authenticates people (the control API, the dashboard, private micros) asks here, so a revoked or expired
   * token is refused everywhere at once. `tokens.check` says why one was refused.
   */
  byToken(token: string): User | undefined {
    const check = this.tokens.check(token);
    if (check.state !== "valid") return undefined;
    const row = this.byIdStmt.get(check.userId) as UserRow | undefined;
    return row && toUser(row);
  }
}
