/**
 * The conversation between the platform and a runner, one JSON object per line
 * on file descriptor 3. The platform sends `start` once; the runner answers
 * `ready` when it accepts requests on the socket, or `failed` with a reason.
 * Sending the app late (instead of on the command line) lets a runner be
 * started ahead of need and given its app on the first request.
 *
 * PROTOCOL is the one definition of the constants the daemon and both runners
 * share. The daemon and this runner import it; the Python runner reads
 * runtimes/python/protocol.json, which is written from it (`npm run
 * runtimes:protocol`; a unit test fails while the two differ).
 */
export const PROTOCOL = {
  /** The control channel's file descriptor in the runner. */
  controlFd: 3,
  /** The longest line a runner may send; the daemon treats a longer one as an invalid message. */
  maxMessageBytes: 16 * 1024,
  /** A `failed` message's reason is cut to this many characters by the runner. */
  maxReasonChars: 2000,
  /** What a runner may send, by `type`. */
  runnerMessages: ["ready", "failed"],
  /** The codes a `failed` message may carry. */
  failureCodes: ["ERR_UNSUPPORTED_FRAMEWORK", "ERR_APP_CRASHED"],
  /**
   * Where the platform POSTs events (run actions, cron) to an instance. The
   * gateway refuses every outside request whose path, as the app would see it,
   * is under the reserved prefix.
   */
  eventPath: "/__micros/event",
  reservedPrefix: "/__micros/",
} as const;

export interface StartMessage {
  type: "start";
  /** The release's code as the runner sees it. */
  appDir: string;
  /** The entry file, relative to appDir. */
  entry: string;
  /** The Unix socket to serve HTTP on. */
  socketPath: string;
  env: Record<string, string>;
}

export interface ReadyMessage {
  type: "ready";
}

export interface FailedMessage {
  type: "failed";
  code: (typeof PROTOCOL.failureCodes)[number];
  message: string;
}

export type RunnerMessage = ReadyMessage | FailedMessage;
