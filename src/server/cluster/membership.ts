import type { Logger } from "pino";
import type { NodeRecord, Nodes } from "../store/nodes.js";

/** What this node says of itself in the nodes table. */
export interface SelfNode {
  id: string;
  address: string;
  capacity: number;
}

export interface MembershipOptions {
  nodes: Nodes;
  self: SelfNode;
  operator: Pick<Logger, "info" | "warn">;
  /** How often this node says it is alive and reads who else is. */
  heartbeatMs?: number;
  /** A node that has not heartbeated for this long is out of the pool. */
  liveWithinMs?: number;
}

/**
 * This node's place among the nodes sharing the database: it joins, heartbeats, and keeps the pool (the live
 * nodes) as of its last heartbeat, so a request's routing never waits on the database. A node that this one could
 * not reach is left out of its pool until the heartbeats show it again after that, or the window passes, so a node
 * killed outright stops getting requests from this one at the first failure, not after the heartbeat window.
 */
export class Membership {
  private live: NodeRecord[] = [];
  /** Nodes found unreachable, with when that was (this node's clock). */
  private readonly unreachable = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private closed = false;
  readonly heartbeatMs: number;
  readonly liveWithinMs: number;

  private constructor(private readonly options: MembershipOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.liveWithinMs = options.liveWithinMs ?? 5000;
  }

  static async join(options: MembershipOptions): Promise<Membership> {
    const membership = new Membership(options);
    await options.nodes.join(options.self);
    await membership.refresh();
    membership.schedule();
    return membership;
  }

  get self(): SelfNode {
    return this.options.self;
  }

  /** The ids of the nodes that take micros, in id order: the live ones this node can reach, itself always. */
  pool(): string[] {
    const now = Date.now();
    const ids = this.live
      .filter((node) => node.id === this.self.id || !this.isUnreachable(node.id, now))
      .map((node) => node.id);
    if (!ids.includes(this.self.id)) ids.push(this.self.id);
    return ids.sort();
  }

  addressOf(id: string): string | undefined {
    return this.live.find((node) => node.id === id)?.address;
  }

  /** A forward to `id` failed to connect: it takes nothing from this node until it shows it is alive again. */
  markUnreachable(id: string): void {
    if (id !== this.self.id) this.unreachable.set(id, Date.now());
  }

  /** Every node the database knows, live or not, fresh from it. */
  async list(): Promise<NodeRecord[]> {
    return this.options.nodes.list(this.liveWithinMs);
  }

  /** Leaves the pool at once, so other nodes stop sending requests here before this node stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.options.nodes.leave(this.self.id).catch(() => {});
  }

  private isUnreachable(id: string, now: number): boolean {
    const since = this.unreachable.get(id);
    if (since === undefined) return false;
    const node = this.live.find((entry) => entry.id === id);
    // A heartbeat after the failure (a restarted node), or the window gone by: it is tried again.
    if (now - since > this.liveWithinMs || (node && node.heartbeatAt > since)) {
      this.unreachable.delete(id);
      return false;
    }
    return true;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.heartbeat().finally(() => this.schedule()), this.heartbeatMs);
    this.timer.unref();
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.options.nodes.beat(this.self);
      await this.refresh();
      if (this.failing) this.options.operator.info("the database answers heartbeats again");
      this.failing = false;
    } catch (err) {
      // The pool as last read stays: routing goes on while the database is away.
      if (!this.failing) {
        this.options.operator.warn({ err }, "could not heartbeat to the database; routing with the nodes last seen");
      }
      this.failing = true;
    }
  }

  private async refresh(): Promise<void> {
    this.live = (await this.options.nodes.list(this.liveWithinMs)).filter((node) => node.live);
  }
}
