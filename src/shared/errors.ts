/**
 * One error type for the whole platform. Each code maps to an HTTP status and a
 * hint, so the API, the gateway and the CLI speak the same language; callers
 * match on `code`, never on message text. Every code is listed in docs/errors.md
 * (a test keeps the two in step).
 */

export type ErrorKind = "user" | "system";

interface CodeInfo {
  status: number;
  kind: ErrorKind;
}

export const ERROR_CODES = {
  ERR_VALIDATION: { status: 400, kind: "user" },
  ERR_UNAUTHORIZED: { status: 401, kind: "user" },
  ERR_TOKEN_EXPIRED: { status: 401, kind: "user" },
  ERR_FORBIDDEN: { status: 403, kind: "user" },
  ERR_CSRF: { status: 403, kind: "user" },
  ERR_NOT_FOUND: { status: 404, kind: "user" },
  ERR_MICRO_NOT_FOUND: { status: 404, kind: "user" },
  ERR_RELEASE_NOT_FOUND: { status: 404, kind: "user" },
  ERR_API_KEY_NOT_FOUND: { status: 404, kind: "user" },
  ERR_USER_NOT_FOUND: { status: 404, kind: "user" },
  ERR_TOKEN_NOT_FOUND: { status: 404, kind: "user" },
  ERR_DOMAIN_NOT_FOUND: { status: 404, kind: "user" },
  ERR_FILE_NOT_FOUND: { status: 404, kind: "user" },
  ERR_NAME_TAKEN: { status: 409, kind: "user" },
  ERR_DOMAIN_TAKEN: { status: 409, kind: "user" },
  ERR_ITEM_EXISTS: { status: 409, kind: "user" },
  ERR_CLIENT_TIMEOUT: { status: 408, kind: "user" },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, kind: "user" },
  ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, kind: "user" },
  ERR_HEADERS_TOO_LARGE: { status: 431, kind: "user" },
  ERR_STORAGE_FULL: { status: 507, kind: "user" },
  ERR_BAD_ARCHIVE: { status: 422, kind: "user" },
  ERR_MISSING_ENTRY: { status: 422, kind: "user" },
  ERR_DEPENDENCY_INSTALL_FAILED: { status: 422, kind: "user" },
  ERR_BUILD_LIMIT: { status: 422, kind: "user" },
  ERR_DEPLOY_IN_PROGRESS: { status: 409, kind: "user" },
  ERR_UNSUPPORTED_FRAMEWORK: { status: 502, kind: "user" },
  ERR_NO_HANDLER: { status: 404, kind: "user" },
  ERR_HANDLER_FAILED: { status: 502, kind: "user" },
  ERR_INSTANCE_PROTOCOL: { status: 502, kind: "user" },
  ERR_ANSWER_TOO_LARGE: { status: 502, kind: "user" },
  ERR_APP_CRASHED: { status: 502, kind: "user" },
  ERR_APP_START_TIMEOUT: { status: 504, kind: "user" },
  ERR_REQUEST_TIMEOUT: { status: 504, kind: "user" },
  ERR_NO_RELEASE: { status: 503, kind: "user" },
  ERR_SERVER_UNREACHABLE: { status: 503, kind: "system" },
  ERR_NODE_UNREACHABLE: { status: 502, kind: "system" },
  ERR_SHUTTING_DOWN: { status: 503, kind: "system" },
  ERR_SANDBOX_UNAVAILABLE: { status: 500, kind: "system" },
  ERR_INVALID_SETTING: { status: 400, kind: "user" },
  ERR_CANNOT_LISTEN: { status: 500, kind: "system" },
  ERR_DATA_DIR_UNUSABLE: { status: 500, kind: "system" },
  ERR_DATABASE_UNUSABLE: { status: 500, kind: "system" },
  ERR_INTERNAL: { status: 500, kind: "system" },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export class MicrosError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause });
    this.name = "MicrosError";
    this.code = code;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toBody(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.details) error.details = this.details;
    return { error };
  }
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** Anything thrown becomes a MicrosError; unknown failures are internal errors with the original kept as cause. */
export function toMicrosError(err: unknown): MicrosError {
  if (err instanceof MicrosError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new MicrosError("ERR_INTERNAL", `Internal error: ${message}`, { cause: err });
}
