import { readFile, writeFile } from "node:fs/promises";
import { MicrosError } from "../../shared/errors.js";
import { runCommand } from "../util/run-command.js";
import { BLOCKS } from "./server-block.js";

/** How many instances can have a network at once: one /30 each inside a /16, the last /30 kept for the services. */
const SLOTS = 16_383;
/** The port of the platform's services for sandboxes: HTTPS's, which Deta's SDKs always use. */
const SERVICES_PORT = 443;
/** Server block n has 10.(100 + n).0.0/16; together they span this range, which no sandbox may reach. */
const FIRST_OCTET = 100;
const ALL_SANDBOXES = `10.${FIRST_OCTET}.0.0-10.${FIRST_OCTET + BLOCKS - 1}.255.255`;

/** Where the platform serves its sandboxes (Base and Drive): an address of the host only they can reach. */
export interface SandboxServices {
  address: string;
  port: number;
}

export interface InstanceNetwork {
  /** The network namespace to run the sandbox in. */
  nsPath: string;
  release(): Promise<void>;
}

/**
 * A network namespace per instance, joined to the host by a veth pair: the
 * instance reaches the outside world through NAT, but an nftables filter drops
 * whatever it sends to the host itself (the platform's API, services on
 * loopback or any host address), to other instances (of this server or of
 * any other on the host), and to link-local addresses such as a cloud's
 * metadata service. One exception: the services address, a /32 at the end of
 * the server's subnet on the host's loopback, on one TCP port, which only this
 * server's sandboxes reach (nothing else, the host's own processes included).
 */
export class SandboxNetwork {
  private readonly free: number[] = [];
  private next = 0;

  private constructor(
    private readonly ip: string,
    private readonly nft: string,
    /** Names every interface and namespace of this server: 5 characters, so names stay under 16. */
    private readonly prefix: string,
    /** The second octet of this server's 10.x.0.0/16. */
    private readonly octet: number,
  ) {}

  /** Reachable from this server's sandboxes on its port only; the platform listens there (server.ts). */
  get services(): SandboxServices {
    return { address: `10.${this.octet}.255.253`, port: SERVICES_PORT };
  }

  /** `block`: the server's block on this host (see server-block.ts), which gives it a /16 no other server has. */
  static async open(tools: { ip: string; nft: string }, prefix: string, block: number): Promise<SandboxNetwork> {
    const network = new SandboxNetwork(tools.ip, tools.nft, prefix, FIRST_OCTET + block);
    await network.removeLeftovers();
    if ((await readFile("/proc/sys/net/ipv4/ip_forward", "utf8")).trim() !== "1") {
      // Outbound traffic from instances is routed through the host.
      await writeFile("/proc/sys/net/ipv4/ip_forward", "1");
    }
    await network.run(tools.nft, ["-f", "-"], network.ruleset());
    await network.run(tools.ip, ["addr", "add", `${network.services.address}/32`, "dev", "lo"]);
    return network;
  }

  private get subnet(): string {
    return `10.${this.octet}.0.0/16`;
  }

  private ruleset(): string {
    const ifaces = `"${this.prefix}*"`;
    const { address, port } = this.services;
    return `
table inet ${this.prefix}_filter {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname ${ifaces} ct state established,related accept
    iifname ${ifaces} ip daddr ${address} tcp dport ${port} accept
    iifname ${ifaces} drop
    ip daddr ${address} drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname ${ifaces} oifname ${ifaces} drop
    iifname ${ifaces} ip daddr { 169.254.0.0/16, 127.0.0.0/8, ${ALL_SANDBOXES} } drop
    oifname ${ifaces} ip saddr ${ALL_SANDBOXES} drop
  }
}
table ip ${this.prefix}_nat {
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    ip saddr ${this.subnet} oifname != ${ifaces} masquerade
  }
}
`;
  }

  async attach(): Promise<InstanceNetwork> {
    const slot = this.free.pop() ?? this.next++;
    if (slot >= SLOTS) throw new MicrosError("ERR_INTERNAL", `No free network slot: ${SLOTS} instances are running.`);
    const name = `${this.prefix}${slot.toString(36)}`;
    const host = `${name}h`;
    const base = slot * 4;
    const address = (offset: number) =>
      `10.${this.octet}.${Math.floor((base + offset) / 256)}.${(base + offset) % 256}`;
    // Two runs of ip, the host's side then the namespace's, rather than one per step: each costs a process.
    const hostSide = [
      `netns add ${name}`,
      `link add ${host} type veth peer name eth0 netns ${name}`,
      `addr add ${address(1)}/30 dev ${host}`,
      `link set ${host} up`,
    ];
    const inside = [
      `addr add ${address(2)}/30 dev eth0`,
      "link set eth0 up",
      "link set lo up",
      `route add default via ${address(1)}`,
    ];
    try {
      await this.run(this.ip, ["-batch", "-"], `${hostSide.join("\n")}\n`);
      await this.run(this.ip, ["-n", name, "-batch", "-"], `${inside.join("\n")}\n`);
    } catch (err) {
      await this.remove(name);
      this.free.push(slot);
      throw err;
    }
    return {
      nsPath: `/run/netns/${name}`,
      release: async () => {
        await this.remove(name);
        this.free.push(slot);
      },
    };
  }

  async close(): Promise<void> {
    await this.removeLeftovers();
  }

  private async remove(name: string): Promise<void> {
    // Deleting the host end removes the pair at once; the namespace alone would take it down only later.
    // -force: the namespace goes even when the link is already gone.
    await runCommand(this.ip, ["-force", "-batch", "-"], {
      cwd: "/",
      env: {},
      timeoutMs: 10_000,
      input: `link del ${name}h\nnetns del ${name}\n`,
    });
  }

  /**
   * Namespaces, links and rules that a crashed run left behind: this server's own (by its names), and any other
   * server's in this server's /16. The block is held under a lock only a live server keeps, so whatever else uses
   * the /16 belongs to a server that died with a different data dir; left in place, its routes to the same /30s
   * would swallow the answers meant for this server's sandboxes.
   */
  private async removeLeftovers(): Promise<void> {
    const list = await runCommand(this.ip, ["netns", "list"], { cwd: "/", env: {}, timeoutMs: 10_000 });
    for (const line of list.output.split("\n")) {
      const name = line.split(" ")[0] ?? "";
      if (name.startsWith(this.prefix)) await this.remove(name);
    }
    for (const link of await this.linksInSubnet()) await this.remove(link.replace(/h$/, ""));
    const services = ["addr", "del", `${this.services.address}/32`, "dev", "lo"];
    await runCommand(this.ip, services, { cwd: "/", env: {}, timeoutMs: 10_000 });
    for (const table of await this.tablesOfSubnet()) {
      await runCommand(this.nft, ["delete", "table", ...table.split(" ")], { cwd: "/", env: {}, timeoutMs: 10_000 });
    }
  }

  /** Host-side links with an address in this server's /16. */
  private async linksInSubnet(): Promise<string[]> {
    const listed = await runCommand(this.ip, ["-o", "-4", "addr", "show"], { cwd: "/", env: {}, timeoutMs: 10_000 });
    const links = new Set<string>();
    for (const line of listed.output.split("\n")) {
      // "<index>: <name>    inet 10.x.y.z/30 ...": a link of a sandbox's pair, never lo's services address.
      const match = /^\d+:\s+([^\s@:]+)\s+inet\s+(\d+)\.(\d+)\./.exec(line);
      if (match?.[1] && match[1] !== "lo" && match[2] === "10" && Number(match[3]) === this.octet) links.add(match[1]);
    }
    return [...links];
  }

  /** This server's tables, and any other server's whose rules are about this server's /16. */
  private async tablesOfSubnet(): Promise<string[]> {
    const tables = new Set([`inet ${this.prefix}_filter`, `ip ${this.prefix}_nat`]);
    const ruleset = await runCommand(this.nft, ["list", "ruleset"], { cwd: "/", env: {}, timeoutMs: 10_000 });
    for (const table of ruleset.output.split(/^(?=table )/m)) {
      const name = /^table (inet|ip) (m[0-9a-z]{4}_(?:filter|nat)) \{/.exec(table);
      if (name && (table.includes(this.subnet) || table.includes(this.services.address))) {
        tables.add(`${name[1]} ${name[2]}`);
      }
    }
    return [...tables];
  }

  private async run(file: string, args: string[], input?: string): Promise<void> {
    const result = await runCommand(file, args, { cwd: "/", env: {}, timeoutMs: 10_000, input });
    if (result.exitCode !== 0) {
      throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `${file} ${args.join(" ")} failed: ${result.output.trim()}`);
    }
  }
}
