import { type IncomingMessage, STATUS_CODES } from "node:http";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { MicrosError, toMicrosError } from "../../shared/errors.js";
import { unauthorized } from "./access.js";
import { CLIENT_IDENTITY_HEADERS, clientHeaders } from "./forwarded.js";
import type { GatewayOptions } from "./gateway.js";
import { withoutHeaders } from "./proxy.js";

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, subdomain: string) => void;

/** Answers an upgrade request with an error in our JSON shape and closes the connection. */
function refuse(socket: Duplex, error: MicrosError): void {
  const body = JSON.stringify(error.toBody());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ""}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * WebSockets (and any other upgrade): the handshake goes to the instance as it
 * came, with the gateway's client headers, and then bytes flow both ways
 * untouched. An open connection counts as a request in flight, so the instance
 * does not go to sleep under it; when either side ends, the other is ended
 * gracefully.
 */
export function createUpgradeHandler(options: GatewayOptions): UpgradeHandler {
  return (req, socket, head, subdomain) => {
    socket.on("error", () => socket.destroy());
    const micro = options.micros.bySubdomain(subdomain);
    if (!micro) {
      refuse(socket, new MicrosError("ERR_MICRO_NOT_FOUND", `No micro has the subdomain "${subdomain}".`));
      return;
    }
    if (!options.access(micro, req)) {
      refuse(socket, unauthorized(micro));
      return;
    }
    options.instances.acquire(micro).then(
      (lease) => {
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          lease.done();
        };
        const upstream = connect(lease.socketPath);
        upstream.once("connect", () => {
          const headers = [
            ...withoutHeaders(req.rawHeaders, (name) => CLIENT_IDENTITY_HEADERS.has(name)),
            ...clientHeaders(req),
          ];
          let handshake = `${req.method} ${req.url} HTTP/1.1\r\n`;
          for (let i = 0; i < headers.length; i += 2) handshake += `${headers[i]}: ${headers[i + 1]}\r\n`;
          upstream.write(`${handshake}\r\n`);
          if (head.length > 0) upstream.write(head);
          socket.pipe(upstream);
          upstream.pipe(socket);
        });
        upstream.once("error", (err) => {
          if (!finished && upstream.bytesRead === 0) {
            refuse(
              socket,
              new MicrosError("ERR_APP_CRASHED", `The micro closed the connection without answering (${err.message}).`),
            );
          } else socket.end();
          finish();
        });
        upstream.once("close", () => {
          socket.end();
          finish();
        });
        socket.once("close", () => {
          upstream.end();
          finish();
        });
      },
      (err: unknown) => refuse(socket, toMicrosError(err)),
    );
  };
}
