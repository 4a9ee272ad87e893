/**
 * The conversation between the platform and a runner, one JSON object per line
 * on file descriptor 3. The platform sends `start` once; the runner answers
 * `ready` when it accepts requests on the socket, or `failed` with a reason.
 * Sending the app late (instead of on the command line) lets a runner be
 * started ahead of need and given its app on the first request.
 */
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
  code: "ERR_UNSUPPORTED_FRAMEWORK" | "ERR_APP_CRASHED";
  message: string;
}

export type RunnerMessage = ReadyMessage | FailedMessage;

export const CONTROL_FD = 3;
