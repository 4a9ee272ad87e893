import { MicrosError } from "../../shared/errors.js";

export interface StartFailures {
  count: number;
  lastError: MicrosError;
  /** No new start is tried before this time (ms since the epoch). */
  retryAt: number;
}

const MAX_DELAY_MS = 60_000;

/**
 * Remembers micros whose instances keep failing to start, so an app that dies
 * on every start does not spin the CPU: after the second failure in a row the
 * platform waits 1 s, then 2 s, 4 s... up to a minute, answering with the last
 * error meanwhile. A success, a new release or new settings start afresh.
 */
export class StartBackoff {
  private readonly failures = new Map<string, StartFailures>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether the micro is waiting out its backoff: no new instance of it may start yet. */
  waiting(microId: string): boolean {
    const failures = this.failures.get(microId);
    return failures !== undefined && this.now() < failures.retryAt;
  }

  /** Throws the remembered error while the micro is waiting out its backoff. */
  check(microId: string): void {
    const failures = this.failures.get(microId);
    if (!failures || !this.waiting(microId)) return;
    const { lastError, count, retryAt } = failures;
    throw new MicrosError(
      lastError.code,
      `${lastError.message} The micro failed to start ${count} times in a row, so the platform waits before trying again (next try after ${new Date(retryAt).toISOString()}); deploy a fix to try at once.`,
      { details: { startFailures: count, retryAt: new Date(retryAt).toISOString() } },
    );
  }

  failed(microId: string, error: MicrosError): void {
    const count = (this.failures.get(microId)?.count ?? 0) + 1;
    const delay = count < 2 ? 0 : Math.min(1000 * 2 ** (count - 2), MAX_DELAY_MS);
    this.failures.set(microId, { count, lastError: error, retryAt: this.now() + delay });
  }

  reset(microId: string): void {
    this.failures.delete(microId);
  }

  get(microId: string): StartFailures | undefined {
    return this.failures.get(microId);
  }
}
