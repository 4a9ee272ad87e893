/** Whether better-sqlite3 refused a write for a UNIQUE or PRIMARY KEY constraint (a name or host already taken). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
