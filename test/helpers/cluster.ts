/**
 * Several `micros server` nodes sharing one PostgreSQL, as real processes on this one machine: each node in a
 * network namespace of its own with its own address, PostgreSQL in the hub's (see namespaces.ts), and the test
 * process reaching them all as a client would. Helpers kill a node (SIGKILL), start it again on its data dir, run
 * the real CLI against a chosen node and send HTTP requests for a micro through a chosen node.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BIN,
  type CliResult,
  cli,
  type HttpResult,
  onCleanup,
  request,
  type ServerProcess,
  spawnServer,
  useTmpDir,
} from "./micros.js";
import { ip, type NetworkHost, useTestNetwork } from "./namespaces.js";
import { usePrivatePostgres } from "./private-postgres.js";

/** Every node listens on this port of its own address: the namespaces keep them apart. */
const PORT = 4000;

export interface ClusterNode {
  name: string;
  /** Its address on the test network, where it listens. */
  address: string;
  /** http://<address>:4000: what the CLI's MICROS_HOST is set to, and the node's --node-address. */
  url: string;
  dataDir: string;
  namespace: NetworkHost;
  /** Whether its process runs (false between kill() and start()). */
  readonly running: boolean;
  /** What the node printed since it was last started. */
  output(): string;
  /** Ends the node at once (SIGKILL), as a crash would: nothing of it gets to clean up. */
  kill(): Promise<void>;
  /** Starts the node again with its data dir and flags, once it has been killed. */
  start(): Promise<void>;
  /** The real `micros` command, logged in to this node as the admin, run in `cwd`. */
  cli(args: string[], cwd: string): Promise<CliResult>;
  /** A request for the micro with this subdomain, sent to this node (Host `<subdomain>.localhost:4000`). */
  request(subdomain: string, path?: string, options?: Parameters<typeof request>[3]): Promise<HttpResult>;
}

export interface Cluster {
  /** The admin's token: the first node started creates the admin, and writes it into its data dir. */
  readonly token: string;
  nodes: ClusterNode[];
  /** A new node in a namespace of its own, started; the first one creates the admin. */
  addNode(name: string): Promise<ClusterNode>;
  /**
   * The running node that started the instance with this address: each instance has a /30 of its own whose other
   * end is a link in the namespace of the node that runs it (src/server/sandbox/network.ts).
   */
  nodeOf(instanceAddress: string): Promise<ClusterNode | undefined>;
}

export interface ClusterOptions {
  /**
   * Start the nodes as members of one cluster (a secret in MICROS_CLUSTER_SECRET, --node-address). False: each is
   * a lone server that happens to keep its state in this PostgreSQL.
   */
  members?: boolean;
}

/** The hub namespace and its bridge, PostgreSQL in the hub, and no node yet. */
export async function useCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const network = await useTestNetwork();
  const postgres = await usePrivatePostgres(network, network.hub);
  const members = options.members !== false;
  const secret = randomBytes(24).toString("hex");
  const home = await useTmpDir("micros-home-");
  let token: string | undefined;
  const nodes: ClusterNode[] = [];

  const addNode = async (name: string): Promise<ClusterNode> => {
    const namespace = await network.addHost(name);
    const dataDir = await useTmpDir(`micros-node-${name}-`);
    const url = `http://${namespace.address}:${PORT}`;
    const flags = [
      "server",
      "--host",
      namespace.address,
      "--port",
      String(PORT),
      "--data-dir",
      dataDir,
      "--database",
      postgres.url,
      "--domain",
      "localhost",
      ...(members ? ["--node-address", url] : []),
    ];
    // The secret in the environment, as the docs advise: a flag shows in `ps`.
    const env = members ? { MICROS_CLUSTER_SECRET: secret } : {};
    let server: ServerProcess | undefined;
    /** The last process, once it has ended: what it printed stays readable. */
    let dead: ServerProcess | undefined;
    let crashed = false;
    const start = async () => {
      if (server) throw new Error(`node ${name} is running already`);
      server = await spawnServer(
        ...network.command(namespace, process.execPath, [BIN, ...flags]),
        env,
        namespace.address,
      );
      dead = undefined;
      crashed = false;
    };
    const node: ClusterNode = {
      name,
      address: namespace.address,
      url,
      dataDir,
      namespace,
      get running() {
        return server !== undefined;
      },
      output: () => (server ?? dead)?.output() ?? "",
      async kill() {
        if (!server) throw new Error(`node ${name} is not running`);
        server.process.kill("SIGKILL");
        await server.exited;
        dead = server;
        server = undefined;
        crashed = true;
      },
      start,
      cli: (args, cwd) =>
        cli(args, {
          cwd,
          env: { HOME: home, MICROS_HOST: url, MICROS_ACCESS_TOKEN: cluster.token },
        }),
      request: (subdomain, path = "/", requestOptions = {}) =>
        request(PORT, `${subdomain}.localhost:${PORT}`, path, { ...requestOptions, address: namespace.address }),
    };
    // A node a test left killed starts once more first: at start a server removes what its crash left (network
    // namespaces, mounts under its data dir, cgroups), so nothing of it outlives the test file.
    onCleanup(async () => {
      if (crashed) await start().catch(() => undefined);
      await server?.stop();
    });
    await start();
    if (token === undefined) token = (await readFile(join(dataDir, "admin-token"), "utf8")).trim();
    nodes.push(node);
    return node;
  };

  const cluster: Cluster = {
    get token() {
      if (token === undefined) throw new Error("no node has started yet, so there is no admin token");
      return token;
    },
    nodes,
    addNode,
    async nodeOf(instanceAddress) {
      const link = /^(\d+\.\d+\.\d+)\.(\d+)$/.exec(instanceAddress);
      if (!link) throw new Error(`"${instanceAddress}" is not an IPv4 address`);
      const slot = (last: string) => Math.floor(Number(last) / 4);
      for (const node of nodes.filter((candidate) => candidate.running)) {
        const addresses = await ip(`-n ${node.namespace.namespace} -o -4 addr show`);
        for (const [, net, last] of addresses.matchAll(/ inet (\d+\.\d+\.\d+)\.(\d+)\/30 /g)) {
          if (net === link[1] && slot(last ?? "") === slot(link[2] ?? "")) return node;
        }
      }
      return undefined;
    },
  };
  return cluster;
}
