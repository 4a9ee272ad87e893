/**
 * PostgreSQL for tests: MICROS_TEST_DATABASE_URL names a server and a role that may create databases (CI starts
 * Debian's PostgreSQL for it). Each user of it gets a database of its own, made fresh and dropped afterwards, so
 * tests running at once never see each other's rows.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const TEST_DATABASE_URL = process.env.MICROS_TEST_DATABASE_URL || undefined;

export interface TestDatabase {
  url: string;
  /** Drops the database, ending whatever connections are still open to it. */
  drop(): Promise<void>;
}

/** A new, empty database on the test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) throw new Error("MICROS_TEST_DATABASE_URL is not set");
  // Random hex after a fixed prefix: a safe identifier, so it may be written into the statement.
  const name = `micros_test_${randomBytes(6).toString("hex")}`;
  await onServer(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
