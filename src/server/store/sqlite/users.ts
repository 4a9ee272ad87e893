import { newId } from "../ids.js";
import { toUser, type User, type UserRecord, type UserRow, type Users, userNameTaken } from "../users.js";
import type { Db } from "./database.js";
import { isUniqueViolation } from "./errors.js";
import { SqliteTokens } from "./tokens.js";

export class SqliteUsers implements Users {
  readonly tokens: SqliteTokens;
  private readonly byIdStmt;

  constructor(
    private readonly db: Db,
    /** The clock tokens expire by, injectable for tests. */
    now: () => number = Date.now,
  ) {
    this.tokens = new SqliteTokens(db, now);
    this.byIdStmt = db.prepare("SELECT * FROM users WHERE id = ?");
  }

  async create(name: string, isAdmin: boolean): Promise<User> {
    const id = newId();
    try {
      this.db
        .prepare("INSERT INTO users (id, name, is_admin, created_at) VALUES (?, ?, ?, ?)")
        .run(id, name, isAdmin ? 1 : 0, Date.now());
    } catch (err) {
      throw isUniqueViolation(err) ? userNameTaken(name, err) : err;
    }
    return { id, name, isAdmin };
  }

  async byName(name: string): Promise<User | undefined> {
    const row = this.db.prepare("SELECT * FROM users WHERE name = ?").get(name) as UserRow | undefined;
    return row && toUser(row);
  }

  async list(): Promise<UserRecord[]> {
    const rows = this.db.prepare("SELECT * FROM users ORDER BY name").all() as UserRow[];
    return rows.map((row) => ({ ...toUser(row), createdAt: row.created_at }));
  }

  async admins(): Promise<number> {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM users WHERE is_admin = 1").get() as { n: number }).n;
  }

  async delete(id: string): Promise<void> {
    this.db.prepare("DELETE FROM users WHERE id = ?").run(id);
  }

  async issueToken(userId: string, name: string): Promise<string> {
    return (await this.tokens.issue(userId, name)).token;
  }

  /** SQLite's rowid, which a later user may get again only once this one is deleted. */
  async serial(userId: string): Promise<number | undefined> {
    const row = this.db.prepare("SELECT rowid AS serial FROM users WHERE id = ?").get(userId) as
      | { serial: number }
      | undefined;
    return row?.serial;
  }

  async byToken(token: string): Promise<User | undefined> {
    const check = await this.tokens.check(token);
    if (check.state !== "valid") return undefined;
    const row = this.byIdStmt.get(check.userId) as UserRow | undefined;
    return row && toUser(row);
  }
}
