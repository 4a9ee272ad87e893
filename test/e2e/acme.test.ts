import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { TLSSocket } from "node:tls";
import { promisify } from "node:util";
import {
  cli,
  loggedIn,
  type MicrosServer,
  printed,
  useServer,
  useTmpDir,
  waitFor,
  writeApp,
} from "../helpers/micros.js";

const run = promisify(execFile);
const DOMAIN = "acme.example.test";

/** A port free on 127.0.0.1 now: pebble must know the server's HTTP port before either starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Pebble and its DNS server, killed (by their pids) once the file is done; `after` in a `before` hook would end them with the hook. */
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill();
});

/** Starts a child and waits for a line of its output. */
async function startChild(command: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}) {
  const child: ChildProcess = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let output = "";
  const seen = new Promise<void>((resolve, reject) => {
    const check = (chunk: Buffer) => {
      output += chunk;
      if (ready.test(output)) resolve();
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", () => reject(new Error(`${command} exited:\n${output}`)));
  });
  await seen;
  return { output: () => output };
}

describe("ACME: certificates for custom domains from a CA (Debian's pebble)", () => {
  let server: MicrosServer;
  let pebble: { output(): string };
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let httpsPort: number;
  let managementPort: number;

  before(async () => {
    const tmp = await useTmpDir();
    // Pebble's own HTTPS certificate; the server trusts it (and only the server, through NODE_EXTRA_CA_CERTS).
    const pebbleCert = join(tmp, "pebble.crt");
    const pebbleKey = join(tmp, "pebble.key");
    await run("openssl", [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
      ...["-subj", "/CN=pebble", "-addext", "subjectAltName=IP:127.0.0.1"],
      ...["-keyout", pebbleKey, "-out", pebbleCert],
    ]);
    const [acmePort, dnsPort, httpPort, challengeManagement] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    managementPort = await freePort();
    // A DNS server that answers every name with 127.0.0.1, so pebble validates HTTP-01 against this server for real.
    await startChild(
      "pebble-challtestsrv",
      [
        ...["-dns01", `127.0.0.1:${dnsPort}`, "-http01", "", "-https01", "", "-tlsalpn01", ""],
        ...["-management", `127.0.0.1:${challengeManagement}`, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""],
      ],
      /Starting management server/,
    );
    const config = join(tmp, "pebble.json");
    await writeFile(
      config,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: pebbleCert,
          privateKey: pebbleKey,
          httpPort,
          tlsPort: await freePort(),
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    pebble = await startChild("pebble", ["-config", config, "-dnsserver", `127.0.0.1:${dnsPort}`], /Listening on/, {
      PEBBLE_VA_NOSLEEP: "1",
    });
    server = await useServer(
      [
        ...["--port", String(httpPort), "--https-port", "0"],
        ...["--acme-email", "ops@example.test", "--acme-directory", `https://127.0.0.1:${acmePort}/dir`],
      ],
      { NODE_EXTRA_CA_CERTS: pebbleCert },
    );
    httpsPort = Number((await printed(server, /HTTPS is served on https:\/\/127\.0\.0\.1:(\d+)/))[1]);
    env = loggedIn(server, await useTmpDir());
    dir = join(await useTmpDir(), "secure");
    await mkdir(dir);
    await writeApp(dir, {
      "index.js": 'module.exports = (req, res) => res.end("over " + req.headers["x-forwarded-proto"]);',
    });
    const created = await cli(["new"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
  });

  it("a custom domain gets a certificate through an HTTP-01 challenge the server answers, served by SNI", async () => {
    const added = await cli(["domains", "add", DOMAIN], { cwd: dir, env });
    assert.equal(added.code, 0, added.stderr);
    const issued = await waitFor(
      "the certificate",
      async () => {
        const listed = JSON.parse((await cli(["domains", "list", "--json"], { cwd: dir, env })).stdout);
        const status = listed[0]?.certificate?.status;
        assert.notEqual(status, "failed", JSON.stringify(listed[0]?.certificate));
        return status === "issued" ? listed[0] : undefined;
        // acme-client polls the order with a backoff of seconds; a busy machine may take a while.
      },
      120_000,
    );
    assert.ok(Date.parse(issued.certificate.expiresAt) > Date.now());
    assert.match(
      pebble.output(),
      new RegExp(`Attempting to validate w/ HTTP: http://${DOMAIN}:${server.port}/\\.well-known/acme-challenge/`),
    );

    // The CA's root, from pebble's management interface, is all a client needs to trust the served certificate.
    const root = await new Promise<string>((resolve, reject) => {
      httpsRequest({ host: "127.0.0.1", port: managementPort, path: "/roots/0", rejectUnauthorized: false }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk;
        });
        res.on("end", () => resolve(body));
      })
        .on("error", reject)
        .end();
    });
    const answer = await new Promise<{ body: string; issuer: string }>((resolve, reject) => {
      httpsRequest(
        { host: "127.0.0.1", port: httpsPort, servername: DOMAIN, headers: { host: DOMAIN }, ca: root, agent: false },
        (res) => {
          const issuer = (res.socket as TLSSocket).getPeerCertificate().issuer.CN as string;
          let body = "";
          res.on("data", (chunk: Buffer) => {
            body += chunk;
          });
          res.on("end", () => resolve({ body, issuer }));
        },
      )
        .on("error", reject)
        .end();
    });
    assert.equal(answer.body, "over https");
    assert.match(answer.issuer, /Pebble/);
  });

  it("keeps the account's and the certificate's keys under the data dir, readable by the server only", async () => {
    for (const file of ["account.key", `certs/${DOMAIN}.key`]) {
      const mode = (await stat(join(server.dataDir, "acme", file))).mode & 0o777;
      assert.equal(mode, 0o600, file);
    }
    assert.match(await readFile(join(server.dataDir, "acme", "certs", `${DOMAIN}.crt`), "utf8"), /BEGIN CERTIFICATE/);
  });
});
