/** Whether PostgreSQL refused a write for a unique constraint (SQLSTATE 23505: a name or host already taken). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "23505";
}
