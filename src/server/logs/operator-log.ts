/**
 * The server's own log (pino, created in server.ts), for what the operator must see: failed launches, internal
 * errors on the request path, failed cron runs, log followers that fell behind, cut log lines. Each entry names the
 * micro it concerns (`micro`, and `instance` where there is one). A micro's owner sees its own side in `micros logs`.
 */
export interface OperatorLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** For tests and tools that have no operator to tell. */
export const QUIET: OperatorLog = { warn() {}, error() {} };
