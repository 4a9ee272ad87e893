import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { DeployEvent, DeployView } from "../shared/api.js";
import { isErrorCode, MicrosError } from "../shared/errors.js";

const CHUNK = 64 * 1024;

export interface DeployProgress {
  uploaded(sent: number, total: number): void;
  event(event: DeployEvent): void;
}

/**
 * Uploads a release and follows the server's progress lines. Hand-made on
 * node:http rather than fetch, which cannot report how much of a body has
 * been sent.
 */
export function deployWithProgress(
  host: string,
  token: string,
  microId: string,
  archive: Buffer,
  progress: DeployProgress,
  fresh = false,
): Promise<DeployView> {
  const url = new URL(`/v1/micros/${encodeURIComponent(microId)}/releases`, host);
  if (fresh) url.searchParams.set("fresh", "1");
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/gzip",
        "content-length": archive.length,
        accept: "application/x-ndjson",
      },
    });
    req.on("error", (err) =>
      reject(
        new MicrosError("ERR_SERVER_UNREACHABLE", `Could not reach the Micros server at ${host} (${err.message}).`, {
          cause: err,
        }),
      ),
    );
    req.on("response", (res) => {
      let buffered = "";
      let outcome: DeployView | MicrosError | undefined;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffered += chunk;
        for (let newline = buffered.indexOf("\n"); newline !== -1; newline = buffered.indexOf("\n")) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (!line.trim()) continue;
          const parsed = JSON.parse(line) as DeployEvent | { error: { code: string; message: string } };
          if ("event" in parsed) {
            progress.event(parsed);
            if (parsed.event === "live") outcome = parsed.result;
            if (parsed.event === "failed") outcome = toError(parsed.error);
          } else {
            // An error before the deploy began (bad token, too large): the API's usual shape.
            outcome = toError(parsed.error);
          }
        }
      });
      res.on("end", () => {
        if (outcome instanceof MicrosError) reject(outcome);
        else if (outcome) resolve(outcome);
        else
          reject(new MicrosError("ERR_SERVER_UNREACHABLE", `The server at ${host} ended the deploy without a result.`));
      });
    });
    let sent = 0;
    const write = () => {
      while (sent < archive.length) {
        const chunk = archive.subarray(sent, sent + CHUNK);
        sent += chunk.length;
        progress.uploaded(sent, archive.length);
        if (!req.write(chunk)) {
          req.once("drain", write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

function toError(error: { code: string; message: string; details?: Record<string, unknown> }): MicrosError {
  const code = isErrorCode(error.code) ? error.code : "ERR_INTERNAL";
  return new MicrosError(code, error.message, error.details ? { details: error.details } : {});
}
