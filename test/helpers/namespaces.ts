/**
 * A private network for one test file, made of network namespaces: a "hub" namespace holding a bridge, one
 * namespace per host joined to that bridge with an address of its own, and the host joined to it by one veth, so the
 * test process (in the host's namespace) reaches every host as a client. Names carry a random suffix, so runs at
 * the same time never meet; everything is removed when the file is done, whatever happened.
 *
 * The /24 is 10.99.x.0 with a random x: the sandbox's subnets are 10.100.0.0/16 and up (src/server/sandbox), and
 * a subnet already routed on this host is never taken.
 */
import { execFile } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { onCleanup } from "./micros.js";

/** A host of the test network: a namespace and its address on the bridge. */
export interface NetworkHost {
  /** The namespace's name, for `ip -n` and `ip netns exec`. */
  namespace: string;
  /** Its path, for `nsenter --net=`. */
  path: string;
  address: string;
}

export interface TestNetwork {
  /** The /24 of the bridge, as CIDR. */
  subnet: string;
  /** The hub: the namespace of the bridge, which has an address on it too. */
  hub: NetworkHost;
  /** A new namespace joined to the bridge; `name` is short (it names the bridge's port) and unique in the network. */
  addHost(name: string): Promise<NetworkHost>;
  /**
   * A command run in a host's namespace, and only its network namespace: `ip netns exec` would also give it a
   * /sys of its own, without the cgroup file systems a sandboxing server needs.
   */
  command(host: NetworkHost, file: string, args: string[]): [string, string[]];
}

/** `ip` with the words of `command` (names here never hold spaces); fails with what it printed. */
export function ip(command: string): Promise<string> {
  const args = command.split(/\s+/);
  return new Promise((resolve, reject) => {
    execFile("ip", args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${command} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** A /24 of 10.99.0.0/16 that no address or route of the host's is in. */
async function freeSubnet(): Promise<number> {
  const used = `${await ip("-o -4 addr show")}\n${await ip("-4 route show")}`;
  for (let attempt = 0; attempt < 64; attempt++) {
    const x = randomInt(256);
    if (!used.includes(`10.99.${x}.`)) return x;
  }
  throw new Error("no free /24 in 10.99.0.0/16 on this host");
}

export async function useTestNetwork(): Promise<TestNetwork> {
  const id = randomBytes(3).toString("hex");
  // Nothing the server names starts this way: its namespaces and links are `m` and four hex digits.
  const prefix = `ct${id}`;
  const x = await freeSubnet();
  const address = (host: number) => `10.99.${x}.${host}`;
  const namespaces: string[] = [];
  // Deleting a namespace deletes the veth ends in it, and so their peers: the bridge's ports and the host's link.
  onCleanup(async () => {
    for (const namespace of namespaces.reverse()) await ip(`netns del ${namespace}`).catch(() => undefined);
  });
  const addNamespace = async (name: string, hostNumber: number): Promise<NetworkHost> => {
    const namespace = `${prefix}-${name}`;
    await ip(`netns add ${namespace}`);
    namespaces.push(namespace);
    await ip(`-n ${namespace} link set lo up`);
    return { namespace, path: `/run/netns/${namespace}`, address: address(hostNumber) };
  };

  const hub = await addNamespace("hub", 2);
  await ip(`-n ${hub.namespace} link add br0 type bridge`);
  await ip(`-n ${hub.namespace} addr add ${hub.address}/24 dev br0`);
  await ip(`-n ${hub.namespace} link set br0 up`);
  // The host's own address on the bridge, where the test's requests come from.
  await ip(`link add ${prefix} type veth peer name uplink netns ${hub.namespace}`);
  await ip(`addr add ${address(1)}/24 dev ${prefix}`);
  await ip(`link set ${prefix} up`);
  await ip(`-n ${hub.namespace} link set uplink master br0 up`);

  let next = 11;
  const names = new Set<string>();
  return {
    subnet: `${address(0)}/24`,
    hub,
    async addHost(name) {
      if (!/^[a-z][a-z0-9]{0,9}$/.test(name) || names.has(name) || name === "hub") {
        throw new Error(`"${name}" is not a new host name of a few lowercase letters and digits`);
      }
      names.add(name);
      const host = await addNamespace(name, next++);
      const port = `to-${name}`;
      await ip(`-n ${hub.namespace} link add ${port} type veth peer name eth0 netns ${host.namespace}`);
      await ip(`-n ${hub.namespace} link set ${port} master br0 up`);
      await ip(`-n ${host.namespace} addr add ${host.address}/24 dev eth0`);
      await ip(`-n ${host.namespace} link set eth0 up`);
      return host;
    },
    command: (host, file, args) => ["nsenter", [`--net=${host.path}`, "--", file, ...args]],
  };
}
