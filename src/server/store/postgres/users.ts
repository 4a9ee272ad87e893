import { newId } from "../ids.js";
import { toUser, type User, type UserRecord, type UserRow, type Users, userNameTaken } from "../users.js";
import type { Changes } from "./changes.js";
import type { PgDb } from "./database.js";
import { isUniqueViolation } from "./errors.js";
import { PgTokens } from "./tokens.js";

export class PgUsers implements Users {
  readonly tokens: PgTokens;

  constructor(
    private readonly db: PgDb,
    private readonly changes: Changes,
    now: () => number = Date.now,
  ) {
    this.tokens = new PgTokens(db, now);
  }

  async create(name: string, isAdmin: boolean): Promise<User> {
    const id = newId();
    try {
      await this.db.run("INSERT INTO users (id, name, is_admin, created_at) VALUES ($1, $2, $3, $4)", [
        id,
        name,
        isAdmin,
        Date.now(),
      ]);
    } catch (err) {
      throw isUniqueViolation(err) ? userNameTaken(name, err) : err;
    }
    return { id, name, isAdmin };
  }

  async byName(name: string): Promise<User | undefined> {
    const row = await this.db.row<UserRow>("SELECT * FROM users WHERE name = $1", [name]);
    return row && toUser(row);
  }

  async list(): Promise<UserRecord[]> {
    const rows = await this.db.rows<UserRow>("SELECT * FROM users ORDER BY name");
    return rows.map((row) => ({ ...toUser(row), createdAt: row.created_at }));
  }

  async admins(): Promise<number> {
    const row = await this.db.row<{ n: number }>("SELECT COUNT(*) AS n FROM users WHERE is_admin");
    return row?.n ?? 0;
  }

  async delete(id: string): Promise<void> {
    await this.db.run("DELETE FROM users WHERE id = $1", [id]);
    // The cascade took the user's micros and their domains with it.
    this.changes.changed();
  }

  async issueToken(userId: string, name: string): Promise<string> {
    return (await this.tokens.issue(userId, name)).token;
  }

  async serial(userId: string): Promise<number | undefined> {
    const row = await this.db.row<{ serial: number }>("SELECT serial FROM users WHERE id = $1", [userId]);
    return row?.serial;
  }

  async byToken(token: string): Promise<User | undefined> {
    const check = await this.tokens.check(token);
    if (check.state !== "valid") return undefined;
    const row = await this.db.row<UserRow>("SELECT * FROM users WHERE id = $1", [check.userId]);
    return row && toUser(row);
  }
}
