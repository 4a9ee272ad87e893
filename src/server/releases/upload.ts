import { createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { MicrosError } from "../../shared/errors.js";
import { formatBytes } from "../../shared/format.js";

function tooLarge(found: string, limit: number): MicrosError {
  return new MicrosError(
    "ERR_PAYLOAD_TOO_LARGE",
    `The upload is ${found}, over the ${formatBytes(limit)} limit for code. Leave large files out with .microsignore.`,
    { details: { limitBytes: limit } },
  );
}

/** Streams an upload to a file, refusing it as soon as it passes `limit` bytes. */
export async function receiveUpload(
  body: Readable,
  file: string,
  limit: number,
  declaredLength: number | undefined,
): Promise<number> {
  if (declaredLength !== undefined && declaredLength > limit) throw tooLarge(formatBytes(declaredLength), limit);
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > limit) callback(tooLarge(`more than ${formatBytes(limit)}`, limit));
      else callback(null, chunk);
    },
  });
  await pipeline(body, counter, createWriteStream(file));
  return received;
}
