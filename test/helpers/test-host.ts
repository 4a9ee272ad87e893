/**
 * A separate "host" on this machine for network tests: a network namespace
 * joined to the root namespace by a veth pair, running a small HTTP server.
 * Instances may reach it only through the platform's NAT, as they would reach
 * an external API; nothing here touches any address outside this machine.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface TestHost {
  /** The peer's address, reached through routing and NAT. */
  address: string;
  /** The root namespace's end of the link: an address of this host itself. */
  hostAddress: string;
  port: number;
  close(): void;
}

export async function startTestHost(): Promise<TestHost> {
  const id = randomBytes(2).toString("hex");
  const ns = `mtpeer${id}`;
  const octet = 1 + (Number.parseInt(id, 16) % 250);
  const hostAddress = `10.250.${octet}.1`;
  const address = `10.250.${octet}.2`;
  const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
  ip("netns", "add", ns);
  ip("link", "add", `mth${id}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
  ip("addr", "add", `${hostAddress}/30`, "dev", `mth${id}`);
  ip("link", "set", `mth${id}`, "up");
  ip("-n", ns, "addr", "add", `${address}/30`, "dev", "eth0");
  ip("-n", ns, "link", "set", "eth0", "up");
  ip("-n", ns, "link", "set", "lo", "up");
  ip("-n", ns, "route", "add", "default", "via", hostAddress);
  const port = 8080;
  const server = spawn(
    "ip",
    [
      "netns",
      "exec",
      ns,
      process.execPath,
      "-e",
      `require("http").createServer((q, s) => s.end("hello from the test host")).listen(${port}, "${address}", () => console.log("up"))`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    server.stdout.once("data", () => resolve());
    server.once("exit", (code) => reject(new Error(`test host exited with ${code}`)));
  });
  return {
    address,
    hostAddress,
    port,
    close: () => {
      server.kill("SIGKILL");
      execFileSync("ip", ["link", "del", `mth${id}`], { stdio: "ignore" });
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    },
  };
}
