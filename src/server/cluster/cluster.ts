import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { z } from "zod";
import { MicrosError } from "../../shared/errors.js";
import { sendError } from "../gateway/proxy.js";
import type { Client } from "../gateway/trusted-proxy.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Micro } from "../store/micros.js";
import type { NodeRecord, SharedState } from "../store/nodes.js";
import { Forwarder } from "./forwarder.js";
import { Membership, type SelfNode } from "./membership.js";
import { NodeAuth } from "./node-auth.js";
import { ownerOf } from "./placement.js";

/** Micros named in one event: a NOTIFY payload must stay under 8000 bytes. */
const LOG_MICROS_PER_EVENT = 100;

/** What nodes tell each other on the events channel; anything else there is ignored, and logged. */
const clusterEvent = z.discriminatedUnion("kind", [
  // A micro's instances must stop taking requests (its environment or project key changed), sent by `node`.
  z.object({ kind: z.literal("retire"), micro: z.string().min(1).max(64), node: z.string().min(1).max(64) }),
  // `node` stored log lines of these micros: followers elsewhere read them from the store.
  z.object({
    kind: z.literal("logs"),
    micros: z.array(z.string().min(1).max(64)).min(1).max(LOG_MICROS_PER_EVENT),
    node: z.string().min(1).max(64),
  }),
  // A project's key was rotated or the project deleted (a trigger in the database sends this).
  z.object({ kind: z.literal("project-key"), project: z.string().min(1).max(64) }),
]);

/** What this node does when the others ask. */
export interface ClusterHandlers {
  retire(microId: string): void;
  /** Events may have been missed (the listening connection was lost): nothing held may be trusted. */
  retireAll(): void;
  forgetProjectKey(projectId: string): void;
  /** Another node stored log lines of these micros. */
  logsWritten(microIds: string[]): void;
}

export interface ClusterOptions {
  store: SharedState;
  /** The secret every node is given; nothing between nodes is trusted without it. */
  secret: string;
  self: SelfNode;
  operator: Logger;
  metrics?: Metrics;
  heartbeatMs?: number;
  liveWithinMs?: number;
}

/**
 * Several nodes on one PostgreSQL database, as one platform. Each micro has one node that runs it, picked by a
 * stable hash of the micro over the live nodes (placement.ts); a request for it that reaches any other node is
 * forwarded there, signed with the cluster secret, so the micro keeps one set of warm instances and cold starts stay
 * rare. A node that dies leaves the pool (at the first failed forward from a node, or when its heartbeats stop), and
 * its micros' next requests start them on the node the hash picks next.
 */
export class Cluster {
  readonly auth: NodeAuth;
  private readonly forwarder = new Forwarder();
  /** Requests that arrived from another node, checked: served here, never forwarded again. */
  private readonly fromNodes = new WeakMap<IncomingMessage, Client>();
  private unsubscribe: (() => void) | undefined;

  private constructor(
    private readonly options: ClusterOptions,
    private readonly membership: Membership,
  ) {
    this.auth = new NodeAuth(options.secret);
  }

  static async join(options: ClusterOptions): Promise<Cluster> {
    const membership = await Membership.join({
      nodes: options.store.nodes,
      self: options.self,
      operator: options.operator,
      heartbeatMs: options.heartbeatMs,
      liveWithinMs: options.liveWithinMs,
    });
    return new Cluster(options, membership);
  }

  get selfId(): string {
    return this.options.self.id;
  }

  /** Acts on what other nodes (and the database's triggers) announce. */
  listen(handlers: ClusterHandlers): void {
    this.unsubscribe = this.options.store.subscribe((event) => {
      if ("missed" in event) {
        this.options.operator.warn("listening to the other nodes again after a loss: retiring every instance here");
        handlers.retireAll();
        return;
      }
      let parsed: z.infer<typeof clusterEvent>;
      try {
        parsed = clusterEvent.parse(JSON.parse(event.payload));
      } catch {
        this.options.operator.warn({ payload: event.payload.slice(0, 200) }, "ignored a malformed cluster event");
        return;
      }
      if (parsed.kind === "project-key") handlers.forgetProjectKey(parsed.project);
      else if (parsed.node === this.selfId) return;
      else if (parsed.kind === "retire") handlers.retire(parsed.micro);
      else handlers.logsWritten(parsed.micros);
    });
  }

  /** Tells the other nodes to retire a micro's instances (this node has retired its own). */
  announceRetire(microId: string): void {
    this.publish(
      { kind: "retire", micro: microId, node: this.selfId },
      "could not tell the other nodes to retire a micro's instances; theirs keep the old settings until idle",
    );
  }

  /** Tells the other nodes this one stored log lines of these micros, for their followers. */
  announceLogs(microIds: string[]): void {
    for (let i = 0; i < microIds.length; i += LOG_MICROS_PER_EVENT) {
      this.publish(
        { kind: "logs", micros: microIds.slice(i, i + LOG_MICROS_PER_EVENT), node: this.selfId },
        "could not tell the other nodes of new log lines; their followers see them at the next batch",
      );
    }
  }

  private publish(event: z.infer<typeof clusterEvent>, failure: string): void {
    this.options.store.publish(JSON.stringify(event)).catch((err: unknown) => {
      this.options.operator.error({ err, event: event.kind }, failure);
    });
  }

  /**
   * Checks a request that carries node headers. A forged or stale one is refused (403) and logged; a true one is
   * served here, for the client the sending node names. Returns false when the request has been answered.
   */
  admit(req: IncomingMessage, res: ServerResponse | Duplex): boolean {
    if (!NodeAuth.carries(req)) return true;
    const verified = this.auth.verify(req);
    if (verified.ok) {
      this.fromNodes.set(req, verified.client);
      return true;
    }
    this.options.operator.warn(
      { peer: req.socket.remoteAddress, reason: verified.reason },
      "refused a request that claimed to come from another node",
    );
    const error = new MicrosError(
      "ERR_FORBIDDEN",
      `The request carries node headers that do not check out: ${verified.reason}. Only nodes of this cluster may send them.`,
    );
    if ("writeHead" in res) sendError(res, error);
    else res.destroy();
    return false;
  }

  /** The client a node named for a request it forwarded here, if it was one. */
  forwardedClient(req: IncomingMessage): Client | undefined {
    return this.fromNodes.get(req);
  }

  /**
   * Serves the request on the node that runs the micro when that is another node. Resolves true when the request
   * has been dealt with there (or answered with why it could not be), false when it is this node's to serve.
   */
  async forward(req: IncomingMessage, res: ServerResponse, micro: Micro, client: Client): Promise<boolean> {
    if (this.fromNodes.has(req)) return false;
    for (;;) {
      const target = this.target(micro.id);
      if (!target) return false;
      const outcome = await this.forwarder.web(req, res, target.address, this.auth.headers(req, this.selfId, client));
      this.options.metrics?.nodeForward(outcome === "sent" ? "sent" : "unreachable");
      if (outcome === "sent") return true;
      this.lost(target.id, outcome.unreachable);
      if (!outcome.retry) {
        sendError(res, this.unreachable(target.id, outcome.unreachable));
        return true;
      }
    }
  }

  /** As `forward`, for an upgrade (WebSockets). */
  async forwardUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    micro: Micro,
    client: Client,
  ): Promise<boolean> {
    if (this.fromNodes.has(req)) return false;
    const target = this.target(micro.id);
    if (!target) return false;
    const failure = await this.forwarder.upgrade(
      req,
      socket,
      head,
      target.address,
      this.auth.headers(req, this.selfId, client),
    );
    this.options.metrics?.nodeForward(failure ? "unreachable" : "sent");
    if (failure) this.lost(target.id, failure);
    return true;
  }

  /** Whether this node is the one that runs the micro (always, outside a cluster). */
  runsHere(microId: string): boolean {
    return this.target(microId) === undefined;
  }

  /** Every node the database knows, with which is this one. */
  async nodes(): Promise<(NodeRecord & { self: boolean })[]> {
    return (await this.membership.list()).map((node) => ({ ...node, self: node.id === this.selfId }));
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    await this.membership.close();
    this.forwarder.close();
  }

  /** The other node that runs the micro, or undefined when it is this one. */
  private target(microId: string): { id: string; address: string } | undefined {
    const owner = ownerOf(microId, this.membership.pool());
    if (owner === undefined || owner === this.selfId) return undefined;
    const address = this.membership.addressOf(owner);
    return address === undefined ? undefined : { id: owner, address };
  }

  private lost(nodeId: string, err: Error): void {
    this.membership.markUnreachable(nodeId);
    this.options.operator.warn(
      { node: nodeId, err },
      "could not reach a node to forward a request; it is out of this node's pool until it heartbeats again",
    );
  }

  private unreachable(nodeId: string, err: Error): MicrosError {
    return new MicrosError(
      "ERR_NODE_UNREACHABLE",
      `The node that runs this micro (${nodeId}) failed while the request was on its way (${(err as NodeJS.ErrnoException).code ?? err.message}). Send it again: the next attempt goes to a live node.`,
    );
  }
}
