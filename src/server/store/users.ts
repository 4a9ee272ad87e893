import { randomBytes } from "node:crypto";
import type { Db } from "./database.js";
import { newId } from "./ids.js";
import { hashSecret } from "./token-hash.js";

export interface User {
  id: string;
  name: string;
  isAdmin: boolean;
}

interface UserRow {
  id: string;
  name: string;
  is_admin: number;
}

const TOKEN_PREFIX = "micros_";

function toUser(row: UserRow): User {
  return { id: row.id, name: row.name, isAdmin: row.is_admin === 1 };
}

export class Users {
  constructor(private readonly db: Db) {}

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

  /** Issues a new access token; only its hash is stored, so the caller must hand the token out now. */
  issueToken(userId: string, name: string): string {
    const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
    this.db
      .prepare("INSERT INTO tokens (id, user_id, name, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(newId(), userId, name, hashSecret(token), token.slice(0, TOKEN_PREFIX.length + 6), Date.now());
    return token;
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

  byToken(token: string): User | undefined {
    const row = this.db
      .prepare("SELECT users.* FROM tokens JOIN users ON users.id = tokens.user_id WHERE tokens.hash = ?")
      .get(hashSecret(token)) as UserRow | undefined;
    return row && toUser(row);
  }
}
