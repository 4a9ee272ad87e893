import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { appendFile, cp, lstat, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { homedir, networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MicroView } from "../../src/shared/api.js";
import {
  api,
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  ROOT,
  request,
  useServer,
  useTmpDir,
} from "../helpers/micros.js";
import {
  assertNothingLeft,
  filesContaining,
  hostState,
  killMarked,
  leaks,
  packFolder,
  postRelease,
  tokenPieces,
} from "./build-helpers.js";

/** The limits the servers are started with, small so that the tests run fast. */
const LIMITS = { timeoutSeconds: 20, memoryMb: 512, pids: 256, diskMb: 300 };

/** Server flags for the build limits, with `timeout` as the deadline of each build. */
const limitFlags = (timeout: string) => [
  "--build-timeout",
  timeout,
  "--build-memory",
  String(LIMITS.memoryMb),
  "--build-pids",
  String(LIMITS.pids),
  "--build-disk",
  String(LIMITS.diskMb),
  // No sandboxes made ahead: whatever appears on the host during a deploy is the build's.
  "--warm-pool",
  "0",
];

export type Language = "node" | "python";
type Limit = "memory" | "processes" | "disk" | "time";

/** What each attack must end in: a build limit, or a deploy that succeeds with the attack's observation in it. */
const ATTACKS: { attack: string; what: string; limit?: Limit }[] = [
  { attack: "write-outside", what: "writes outside the build (a temp folder, /root, the data dir)" },
  { attack: "read-token", what: "reads the admin token and puts it into the release and its output" },
  { attack: "connect", what: "connects to the server's port and to the host's other addresses" },
  { attack: "daemon", what: "leaves a process of its own session running" },
  { attack: "fork-bomb", what: "starts processes past the process limit", limit: "processes" },
  { attack: "fill-disk", what: "fills the disk", limit: "disk" },
  { attack: "memory", what: "allocates past the memory limit", limit: "memory" },
  { attack: "forever", what: "runs forever", limit: "time" },
];

const exists = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );

/** How an error message names each limit. */
const NAMED: Record<Limit, RegExp> = {
  memory: /memory/i,
  processes: /process/i,
  disk: /disk|space/i,
  time: /took longer|time/i,
};

interface Observation {
  attack: string;
  results?: Record<string, string>;
  daemon?: number;
}

/**
 * Install steps that attack the machine they are built on: an npm package's postinstall script
 * (test/fixtures/builds/hostile-node) or a Python package's in-tree build backend (hostile-python), each trying one
 * attack. Each is contained: the deploy fails naming the limit it hit, or succeeds with the attack's own
 * observation showing it had no effect. Either way no marker reaches the host, the admin token appears nowhere,
 * the previous release keeps serving and nothing of the build is left once the deploy has finished.
 *
 * The attacks are split between test files (by language and kind) so that each file stays within the test
 * timeout: `kind` picks the attacks that must have no effect or those that must hit a limit.
 */
export function describeHostileBuilds(language: Language, kind: "effects" | "limits"): void {
  const how = language === "node" ? "an npm postinstall script" : "a Python build backend";
  const attacks = ATTACKS.filter(({ limit }) => (kind === "limits") === (limit !== undefined));
  describe(`hostile build steps are contained: ${how} (${kind === "limits" ? "limits" : "no effect"})`, () => {
    let server: MicrosServer;
    let env: NodeJS.ProcessEnv;
    /** The time limit's own server, with the short deadline; made when its attack runs. */
    let timed: { server: MicrosServer; env: NodeJS.ProcessEnv } | undefined;
    let markers: string;
    let service: Server;
    let servicePort: number;
    const token = randomBytes(6).toString("hex");
    const mark = `micros-attack-${token}`;

    before(async () => {
      // Only the time limit's attack gets the short deadline (on a server of its own): every other build must
      // finish, or reach the limit it attacks, however busy the machine is.
      server = await useServer(limitFlags("10m"));
      env = loggedIn(server, await useTmpDir());
      markers = await useTmpDir("micros-markers-");
      // A service of this host on every address it has, which a build must not reach.
      service = createServer((_req, res) => res.end("a service of the host"));
      await new Promise<void>((resolve) => service.listen(0, "::", resolve));
      servicePort = (service.address() as AddressInfo).port;
    });

    after(async () => {
      service?.close();
      await killMarked(mark);
    });

    /**
     * The host's own addresses, each reachable from here: not those of sandboxes' links, which come and go, nor
     * the addresses servers serve Base and Drive to their sandboxes on (10.<block>.255.253, only sandboxes reach
     * them).
     */
    const hostAddresses = (): string[] =>
      Object.entries(networkInterfaces())
        .filter(([name]) => !name.startsWith("m"))
        .flatMap(([, addresses]) => addresses ?? [])
        .filter((address) => !address.address.startsWith("fe80") && !/^10\.\d+\.255\.253$/.test(address.address))
        .map((address) => address.address);

    for (const { attack, what, limit } of attacks) {
      it(`${what}: ${limit ? `the deploy fails at the ${limit} limit` : "it has no effect"}`, async () => {
        if (limit !== "time") return hostileDeploy(server, env, attack, limit);
        if (!timed) {
          const short = await useServer(limitFlags(`${LIMITS.timeoutSeconds}s`));
          timed = { server: short, env: loggedIn(short, await useTmpDir()) };
        }
        return hostileDeploy(timed.server, timed.env, attack, limit);
      });
    }

    async function hostileDeploy(
      server: MicrosServer,
      env: NodeJS.ProcessEnv,
      attack: string,
      limit: Limit | undefined,
    ): Promise<void> {
      const name = `${language === "node" ? "n" : "p"}-${attack}`;
      const dir = await copyApp(`builds/hostile-${language}/app`, name);
      const created = await cli(["new", "--json"], { cwd: dir, env });
      assert.equal(created.code, 0, created.stderr);
      const micro = JSON.parse(created.stdout) as MicroView;
      const host = `${name}.localhost:${server.port}`;

      const targets = [
        join(markers, `marker-${name}`),
        join(homedir(), `micros-marker-${token}-${name}`),
        join(server.dataDir, `marker-${name}`),
        join(server.dataDir, "releases", micro.id, `marker-${name}`),
      ];
      const connect = [
        { host: "127.0.0.1", port: server.port },
        ...hostAddresses().map((address) => ({ host: address, port: servicePort })),
      ];
      if (attack === "connect") {
        // Each is reachable from the host itself: only the build's isolation can stop it.
        for (const target of connect) {
          const url = `http://${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}/`;
          assert.equal((await fetch(url)).ok || target.port === server.port, true, url);
        }
      }
      await cp(join(ROOT, "test", "fixtures", "builds", `hostile-${language}`, "deps"), dir, { recursive: true });
      // Dependency files of its own, so that the install runs (the attack lives in a local folder, which an install
      // cache keyed by the dependency files does not look into).
      if (language === "node") {
        const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
        await writeFile(join(dir, "package.json"), JSON.stringify({ ...pkg, description: `${attack} ${token}` }));
      } else {
        await appendFile(join(dir, "requirements.txt"), `# ${attack} ${token}\n`);
      }
      await writeFile(
        join(dir, "evil", "attack.json"),
        JSON.stringify({
          attack,
          token,
          targets,
          tokenFiles: [join(server.dataDir, "admin-token"), join(server.dataDir, "micros.db")],
          connect,
          pids: LIMITS.pids,
          diskMb: LIMITS.diskMb,
          memoryMb: LIMITS.memoryMb,
        }),
      );
      const fill = join(tmpdir(), `micros-fill-${token}.bin`);
      const written: string[] = [];
      const before = await hostState(server.dataDir);
      try {
        if (limit && language === "node") {
          // What a user sees: the CLI's deploy fails and says which limit stopped it. (Python's limit attacks
          // check the server's answer itself, code and details; one deploy each keeps the files within their time.)
          const deployed = await cli(["deploy"], { cwd: dir, env });
          assertNoLeak(deployed.stdout + deployed.stderr, "the deploy's output");
          await assertNothingLeft(server.dataDir, before, [mark]);
          assert.notEqual(deployed.code, 0, `the deploy fails: ${deployed.stderr}`);
          assert.match(deployed.stderr, NAMED[limit]);
        } else {
          const answer = await postRelease(server, micro.id, await packFolder(dir));
          assertNoLeak(answer.text, "the deploy's answer");
          // Nothing of the build remains once the deploy has finished (checked before the micro is called, which
          // starts an instance).
          await assertNothingLeft(server.dataDir, before, [mark]);
          if (limit) {
            assert.equal(answer.status, 422, answer.text);
            assert.equal(answer.error?.code, "ERR_BUILD_LIMIT", answer.text);
            assert.equal(answer.error?.details?.limit, limit, answer.text);
            assert.match(answer.error?.message ?? "", NAMED[limit]);
          } else {
            assert.equal(answer.status, 201, `the deploy succeeds: ${answer.text}`);
            const observed = await observation(server, host);
            assert.equal(observed.attack, attack);
            checkObservation(attack, observed);
          }
        }
        if (limit) {
          const { body } = await api<{ micro: MicroView }>(server, `/v1/micros/${micro.id}`);
          assert.equal(body.micro.release?.version, 1, "the good release is still the current one");
        }
      } finally {
        await killMarked(mark);
        // Whatever the outcome, the machine keeps nothing of the attack.
        for (const target of [...targets, fill]) {
          if (await exists(target)) {
            written.push(target);
            await rm(target, { force: true });
          }
        }
      }
      assert.deepEqual(written, [], "no file was written on the host");
      const release = join(server.dataDir, "releases", micro.id);
      assert.deepEqual(
        await filesContaining(release, tokenPieces(server.token)),
        [],
        "no file of the micro holds the token",
      );
      const logs = await cli(["logs"], { cwd: dir, env });
      assertNoLeak(logs.stdout + logs.stderr, "the micro's logs");
      const res = await request(server.port, host);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.body, "good\n", "the micro still serves");
    }

    function assertNoLeak(text: string, where: string) {
      assert.ok(!leaks(text, server.token), `the admin token is not in ${where}`);
      if (timed) assert.ok(!leaks(text, timed.server.token), `the admin token is not in ${where}`);
    }

    async function observation(server: MicrosServer, host: string): Promise<Observation> {
      const res = await request(server.port, host, "/observed");
      assert.equal(res.status, 200, `the attack ran and recorded what it saw: ${res.body}`);
      assertNoLeak(res.body, "what the attack saw");
      return JSON.parse(res.body) as Observation;
    }

    function checkObservation(attack: string, observed: Observation) {
      const results = Object.entries(observed.results ?? {});
      if (attack === "write-outside" || attack === "read-token") {
        assert.ok(results.length > 0, JSON.stringify(observed));
      }
      if (attack === "connect") {
        assert.ok(results.length > 0, JSON.stringify(observed));
        for (const [target, outcome] of results) assert.notEqual(outcome, "connected", `${target}: ${outcome}`);
      }
      if (attack === "daemon") assert.ok(observed.daemon, JSON.stringify(observed));
    }
  });
}
