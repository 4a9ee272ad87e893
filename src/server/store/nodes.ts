import type { EventListener } from "./postgres/changes.js";

/** A server sharing the database, as the nodes table has it. */
export interface NodeRecord {
  id: string;
  /** Where other nodes reach it: `http://host:port`. */
  address: string;
  /** How many instances it may run at once. */
  capacity: number;
  /** Whether it heartbeated within the window the query was given. */
  live: boolean;
  startedAt: number;
  heartbeatAt: number;
}

/** The nodes table (PostgreSQL only: nodes share their state there). */
export interface Nodes {
  /** Records the node as (re)started now, and forgets nodes long gone. */
  join(node: { id: string; address: string; capacity: number }): Promise<void>;
  /** Says the node is alive. */
  beat(node: { id: string; address: string; capacity: number }): Promise<void>;
  /** Every node, with whether it heartbeated within `liveWithinMs` by the database's clock, in id order. */
  list(liveWithinMs: number): Promise<NodeRecord[]>;
  /** The node leaves the pool at once. */
  leave(id: string): Promise<void>;
  /** The wrapped key stored under `name`, storing `wrapped` first if there is none: the first node's key wins. */
  sharedKey(name: string, wrapped: Buffer): Promise<Buffer>;
}

/** What the nodes of a cluster share beyond the tables: who they are, and a channel to tell each other things. */
export interface SharedState {
  readonly nodes: Nodes;
  /** Tells every node on the database (this one too). */
  publish(payload: string): Promise<void>;
  /** Hears what any node publishes, and when events may have been missed; returns how to stop. */
  subscribe(listener: EventListener): () => void;
}
