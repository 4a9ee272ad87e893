import type { NodeRecord, Nodes } from "../nodes.js";
import type { PgDb } from "./database.js";

interface NodeDbRow {
  id: string;
  address: string;
  capacity: number;
  live: boolean;
  started_at: number;
  heartbeat_at: number;
}

/** Nodes silent this long are forgotten: a node that restarts with a new data dir comes back under a new id. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * The nodes table: each node upserts its own row every heartbeat; liveness is judged by the database's clock
 * (`now()`), never a node's, so nodes with skewed clocks still agree on who is in the pool.
 */
export class PgNodes implements Nodes {
  constructor(private readonly db: PgDb) {}

  /** Records the node as (re)started now, and forgets nodes long gone. */
  async join(node: { id: string; address: string; capacity: number }): Promise<void> {
    await this.db.run(
      `INSERT INTO nodes (id, address, capacity, started_at, heartbeat_at) VALUES ($1, $2, $3, now(), now())
       ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, capacity = EXCLUDED.capacity,
         started_at = now(), heartbeat_at = now()`,
      [node.id, node.address, node.capacity],
    );
    await this.db.run("DELETE FROM nodes WHERE heartbeat_at < now() - $1 * interval '1 millisecond'", [
      FORGET_AFTER_MS,
    ]);
  }

  /** Says the node is alive; its row comes back if another node's cleanup had removed it. */
  async beat(node: { id: string; address: string; capacity: number }): Promise<void> {
    await this.db.run(
      `INSERT INTO nodes (id, address, capacity, started_at, heartbeat_at) VALUES ($1, $2, $3, now(), now())
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [node.id, node.address, node.capacity],
    );
  }

  /** Every node, with whether it heartbeated within `liveWithinMs`, in id order. */
  async list(liveWithinMs: number): Promise<NodeRecord[]> {
    const rows = await this.db.rows<NodeDbRow>(
      `SELECT id, address, capacity, heartbeat_at > now() - $1 * interval '1 millisecond' AS live,
         (extract(epoch FROM started_at) * 1000)::bigint AS started_at,
         (extract(epoch FROM heartbeat_at) * 1000)::bigint AS heartbeat_at
       FROM nodes ORDER BY id`,
      [liveWithinMs],
    );
    return rows.map((row) => ({
      id: row.id,
      address: row.address,
      capacity: row.capacity,
      live: row.live,
      startedAt: row.started_at,
      heartbeatAt: row.heartbeat_at,
    }));
  }

  /** The node leaves the pool at once (a clean stop), rather than after its heartbeats are missed. */
  async leave(id: string): Promise<void> {
    await this.db.run("DELETE FROM nodes WHERE id = $1", [id]);
  }

  /** The wrapped key stored under `name`, storing `wrapped` first if there is none: the first node's key wins. */
  async sharedKey(name: string, wrapped: Buffer): Promise<Buffer> {
    await this.db.run(
      "INSERT INTO cluster_keys (name, wrapped, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
      [name, wrapped, Date.now()],
    );
    const row = await this.db.row<{ wrapped: Buffer }>("SELECT wrapped FROM cluster_keys WHERE name = $1", [name]);
    if (!row) throw new Error(`the cluster key ${name} vanished as it was stored`);
    return row.wrapped;
  }
}
