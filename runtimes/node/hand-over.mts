import type { Server } from "node:http";
import { createServer, type Server as NetServer } from "node:net";

/**
 * Accepts connections at an address (`listen()`'s arguments, callback left out) and hands each to an HTTP server
 * as though that server had accepted it: its parser, `request` and `upgrade` (WebSocket) listeners, timeouts and
 * `closeIdleConnections()` all apply, and no byte is copied. The server itself may be listening anywhere else.
 * Closing the server closes the door too. The returned server counts the connections it handed over, so closing it
 * waits for them to end.
 */
export function handOver(server: Server, address: unknown[]): NetServer {
  // The socket options an HTTP server gives the connections it accepts by default.
  const door = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    server.emit("connection", socket);
  });
  server.once("close", () => door.close());
  const args = address.filter((arg) => typeof arg !== "function");
  (door.listen as (...args: unknown[]) => NetServer)(...args);
  return door;
}
