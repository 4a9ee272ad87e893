import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { MicrosError } from "../shared/errors.js";

export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The server's one HTTP listener, taken before anything else starts: a port in use fails the start at once, before
 * a sandbox is made. What arrives while the rest starts waits for `serve`, and is dropped if the start fails.
 */
export interface Listener {
  readonly server: Server;
  readonly port: number;
  /** Hands requests and upgrades to their handlers, those that waited first. */
  serve(onRequest: RequestListener, onUpgrade: UpgradeListener): void;
  /** Stops accepting connections; resolves once the open ones are gone (or `closeAllConnections` ends them). */
  close(): Promise<void>;
}

function cannotListen(err: NodeJS.ErrnoException, port: number, host: string, flag: string): MicrosError {
  const where = `${host}:${port}`;
  const message =
    err.code === "EADDRINUSE"
      ? `Port ${port} on ${host} is in use by another program. Stop it, or choose another port with ${flag}.`
      : err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND" || err.code === "EAI_AGAIN"
        ? `${host} is not an address of this machine. Choose another with --host (127.0.0.1, or 0.0.0.0 for every interface).`
        : err.code === "EACCES"
          ? `Listening on port ${port} needs privileges this server does not have. Choose a port above 1023 with ${flag}.`
          : `Cannot listen on ${where}: ${err.message}.`;
  return new MicrosError("ERR_CANNOT_LISTEN", message, { cause: err, details: { host, port } });
}

/** `create` makes the server (an HTTPS one for --https-port); `flag` names the port's setting in errors. */
export async function listenFirst(
  port: number,
  host: string,
  { create = createServer, flag = "--port" }: { create?: (handler: RequestListener) => Server; flag?: string } = {},
): Promise<Listener> {
  let started: (value: { onRequest: RequestListener; onUpgrade: UpgradeListener }) => void = () => {};
  let failed: () => void = () => {};
  const ready = new Promise<{ onRequest: RequestListener; onUpgrade: UpgradeListener }>((resolve, reject) => {
    started = resolve;
    failed = () => reject(new Error("the server did not start"));
  });
  ready.catch(() => {});
  let onRequest: RequestListener = (req, res) =>
    void ready.then(
      (handlers) => handlers.onRequest(req, res),
      () => res.destroy(),
    );
  let onUpgrade: UpgradeListener = (req, socket, head) =>
    void ready.then(
      (handlers) => handlers.onUpgrade(req, socket, head),
      () => socket.destroy(),
    );
  const server = create((req, res) => onRequest(req, res));
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => onUpgrade(req, socket, head));

  await new Promise<void>((resolve, reject) => {
    const refused = (err: NodeJS.ErrnoException) => reject(cannotListen(err, port, host, flag));
    server.once("error", refused);
    server.listen({ port, host }, () => {
      server.off("error", refused);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    serve(request, upgrade) {
      onRequest = request;
      onUpgrade = upgrade;
      started({ onRequest: request, onUpgrade: upgrade });
    },
    close() {
      failed();
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closed;
    },
  };
}
