import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { ERROR_CODES, MicrosError, toMicrosError } from "../../shared/errors.js";
import { unauthorized } from "./access.js";
import { CLIENT_GONE, type GatewayOptions, reservedPathError } from "./gateway.js";
import { forwardedHeaders } from "./proxy.js";
import { isReservedPath } from "./reserved-path.js";

/** Serves one upgrade; every failure, the store's included, becomes the refusal, so it never rejects. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, subdomain: string) => Promise<void>;

/** Answers an upgrade request with an error in our JSON shape and closes the connection. */
function refuse(socket: Duplex, error: MicrosError): void {
  if (socket.destroyed || socket.writableEnded) return;
  const body = JSON.stringify(error.toBody());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ""}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** A store read on an upgrade's path failed: the operator is told why, the client gets a 500. */
function failed(socket: Duplex, options: GatewayOptions, err: unknown): null {
  const error = toMicrosError(err);
  options.operator.error({ err: error.cause ?? error }, "the store failed while routing an upgrade");
  refuse(socket, error);
  return null;
}

/**
 * WebSockets (and any other upgrade): the handshake goes to the instance as it
 * came, with the gateway's client headers and without the platform's
 * credentials, and then bytes flow both ways untouched (see Dispatcher.tunnel).
 */
export function createUpgradeHandler(options: GatewayOptions): UpgradeHandler {
  return async (req, socket, head, subdomain) => {
    // First, before anything can wait: the client going away aborts whatever this connection is waiting on.
    const client = new AbortController();
    socket.once("close", () => client.abort(CLIENT_GONE));
    socket.on("error", () => socket.destroy());
    const micro = await options.micros.bySubdomain(subdomain).catch((err: unknown) => failed(socket, options, err));
    if (micro === null) return;
    if (!micro) {
      refuse(socket, new MicrosError("ERR_MICRO_NOT_FOUND", `No micro has the subdomain "${subdomain}".`));
      return;
    }
    const elsewhere = await options.elsewhere
      ?.upgrade(req, socket, head, micro)
      .catch((err: unknown) => failed(socket, options, err));
    if (elsewhere !== false && elsewhere !== undefined) return;
    if (isReservedPath(req.url ?? "/")) {
      refuse(socket, reservedPathError());
      return;
    }
    const access = await options.access(micro, req).catch((err: unknown) => failed(socket, options, err));
    if (access === null) return;
    if (!access.allowed) {
      refuse(socket, unauthorized(micro));
      return;
    }
    const outgoing = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: forwardedHeaders(req, options.clientOf(req), access.platformHeaders, true),
      body: undefined,
    };
    options.dispatcher.tunnel(micro, outgoing, socket, head, client.signal).catch((err: unknown) => {
      if (client.signal.aborted) return;
      const error = toMicrosError(err);
      if (ERROR_CODES[error.code].kind === "system") {
        options.operator.error(
          { micro: micro.id, client: options.clientOf(req).address, err: error.cause ?? error },
          `an upgrade of ${req.url} failed inside the platform`,
        );
      }
      refuse(socket, error);
    });
  };
}
