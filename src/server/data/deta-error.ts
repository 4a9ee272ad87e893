/**
 * An answer of the Base and Drive services that is not a success. These services speak Deta's wire format, not the
 * control API's: a client error is `{"errors": ["message", ...]}` (the SDKs show `errors[0]`), with Deta's own text
 * where Deta documented one ("Key already exists", "Key not found", "Bad query", "Unauthorized"). See docs/api.md.
 */
export class DetaError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The body when it is not `{"errors": [message]}` (Drive's HTML 413). */
    readonly body?: { contentType: string; text: string },
  ) {
    super(message);
    this.name = "DetaError";
  }
}

export const badRequest = (message: string) => new DetaError(400, message);

/** Deta's answer to a missing or wrong project key, and to a key of another project. */
export const unauthorized = () => new DetaError(401, "Unauthorized");

/** What Deta's Drive answered to a body over its limit: HTML, not JSON. */
export const entityTooLarge = () =>
  new DetaError(413, "Request Entity Too Large", {
    contentType: "text/html",
    text: "<h1> 413 - Request Entity Too Large </h1>",
  });
