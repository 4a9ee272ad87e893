import { Agent, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createProxyServer } from "http-proxy-3";

/** A node that does not accept a connection this soon is taken as gone: a live one on the same network answers in ms. */
const CONNECT_TIMEOUT_MS = 2000;

/**
 * Keep-alive connections to other nodes, each given up if it is not connected within CONNECT_TIMEOUT_MS (a machine
 * that vanished drops packets rather than refusing them). Only the connect is timed: a slow answer is the micro's.
 */
class NodeAgent extends Agent {
  constructor() {
    super({ keepAlive: true });
  }

  override createConnection(...args: Parameters<Agent["createConnection"]>): Duplex {
    const socket = super.createConnection(...args) as Socket;
    const timer = setTimeout(() => {
      socket.destroy(Object.assign(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`), { code: "ETIMEDOUT" }));
    }, CONNECT_TIMEOUT_MS);
    const clear = () => clearTimeout(timer);
    socket.once("connect", clear);
    socket.once("close", clear);
    return socket;
  }
}

export type ForwardOutcome = "sent" | { unreachable: Error; retry: boolean };

/** Whether a request has a body: one that has started to flow to a node that failed cannot be sent again. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * Passes requests and upgrades on to another node, as they came plus the node headers, and its answers back as
 * they come (http-proxy-3: streaming both ways, WebSockets included). Connections to nodes are kept alive.
 */
export class Forwarder {
  private readonly agent = new NodeAgent();
  private readonly proxy = Forwarder.proxy(this.agent);

  /**
   * http-proxy-3 hands most failures to the callback each call gives, but emits some on the proxy itself (an upgraded
   * client's socket failing): without a listener, Node would end the daemon. Such a connection is closed.
   */
  private static proxy(agent: Agent) {
    const proxy = createProxyServer({
      agent,
      ws: true,
      xfwd: false,
    });
    proxy.on("error", (_err, _req, res) => {
      if (res && "destroy" in res) res.destroy();
    });
    return proxy;
  }

  /**
   * Sends `req` to the node at `address`. When the node fails before answering, a request without a body may be
   * sent elsewhere (`retry`); one whose body was on its way has been lost, and the caller answers it.
   */
  web(
    req: IncomingMessage,
    res: ServerResponse,
    address: string,
    headers: Record<string, string>,
  ): Promise<ForwardOutcome> {
    return new Promise((resolve) => {
      res.once("close", () => resolve("sent"));
      this.proxy.web(req, res, { target: address, headers }, (err) => {
        if (res.headersSent) {
          res.destroy(err);
          resolve("sent");
        } else resolve({ unreachable: err, retry: !hasBody(req) });
      });
    });
  }

  /** Sends an upgrade to the node at `address`; a failure closes the client's connection. */
  upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    address: string,
    headers: Record<string, string>,
  ): Promise<Error | undefined> {
    return new Promise((resolve) => {
      socket.once("close", () => resolve(undefined));
      this.proxy.ws(req, socket, head, { target: address, headers }, (err) => {
        socket.destroy();
        resolve(err);
      });
    });
  }

  close(): void {
    this.proxy.close();
    this.agent.destroy();
  }
}
