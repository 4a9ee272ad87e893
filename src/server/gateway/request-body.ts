import type { IncomingMessage } from "node:http";
import { MicrosError } from "../../shared/errors.js";
import { formatBytes } from "../../shared/format.js";

function tooLarge(req: IncomingMessage, found: string, limit: number, hint: () => string): MicrosError {
  return new MicrosError(
    "ERR_PAYLOAD_TOO_LARGE",
    `The request body of ${req.method} ${req.url} is ${found}, over the micro's ${formatBytes(limit)} limit. Send less, or ${hint()}.`,
    { details: { limitBytes: limit } },
  );
}

/**
 * Enforces the body limit before the app sees a byte. A declared length is
 * checked at once; a body without one (chunked) is read into memory up to the
 * limit and forwarded whole, as Lambda does, so an oversized stream never
 * reaches the app half-way. Returns the buffered body, or undefined when the
 * request can be piped as it is.
 */
export async function checkBody(
  req: IncomingMessage,
  limit: number,
  /** Built only when the request is refused. */
  hint: () => string,
  drainLimit: number,
): Promise<Buffer | undefined> {
  const declared = req.headers["content-length"];
  if (declared !== undefined) {
    const length = Number(declared);
    if (length > limit) throw tooLarge(req, formatBytes(length), limit, hint);
    return undefined;
  }
  if (req.headers["transfer-encoding"] === undefined) return undefined;
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      // Refuse at once, but keep reading (and dropping) a while, so the sender gets the 413 rather than a reset.
      if (!refused) {
        refused = true;
        chunks = [];
        reject(tooLarge(req, `more than ${formatBytes(limit)}`, limit, hint));
      }
      if (size > drainLimit) req.destroy();
    });
    req.once("end", () => {
      if (size <= limit) resolve(Buffer.concat(chunks));
    });
    req.once("error", reject);
  });
}
