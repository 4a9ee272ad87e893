import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { connect, type PeerCertificate, type TLSSocket } from "node:tls";
import { promisify } from "node:util";
import {
  api,
  cli,
  loggedIn,
  type MicrosServer,
  printed,
  request,
  useServer,
  useTmpDir,
  waitFor,
  writeApp,
} from "../helpers/micros.js";

const run = promisify(execFile);
const DOMAIN = "app.example.test";

/** A self-signed certificate for the custom domain and the micro's subdomain, its common name telling it apart. */
async function makeCertificate(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
    ...["-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${DOMAIN},DNS:whoami.localhost`],
    ...["-keyout", key, "-out", cert],
  ]);
  return { cert, key };
}

/** What the app saw of the client: the gateway's headers, as JSON. */
const WHOAMI = `module.exports = (req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({
    for: req.headers["x-forwarded-for"],
    proto: req.headers["x-forwarded-proto"],
    forwarded: req.headers["forwarded"],
  }));
};
`;

interface Seen {
  for: string;
  proto: string;
  forwarded: string;
}

/** An HTTPS request to the server's HTTPS port for `host` (SNI and Host), trusting only `ca`. */
function overHttps(
  port: number,
  host: string,
  ca: string,
  agent?: Agent,
): Promise<{ status: number; body: string; cert: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, servername: host, headers: { host }, ca, agent: agent ?? false },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerCertificate();
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, cert }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The common name of the certificate the server presents for `host` now. */
function servedName(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername: host, rejectUnauthorized: false }, () => {
      const name = socket.getPeerCertificate().subject.CN as string;
      socket.end();
      resolve(name);
    });
    socket.on("error", reject);
  });
}

/** A plain HTTP request from a chosen local address, as a proxy on that address would send it. */
function from(localAddress: string, port: number, headers: Record<string, string>): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, localAddress, headers: { host: `${DOMAIN}:${port}`, ...headers } },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk;
        });
        res.on("end", () => resolve(JSON.parse(body) as Seen));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("custom domains over HTTPS from certificate files, and trusted proxies", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let certs: string;
  let first: { cert: string; key: string };
  let httpsPort: number;

  before(async () => {
    certs = await useTmpDir();
    first = await makeCertificate(certs, "first");
    // The files the server watches are replaced in place later; it starts with the first pair.
    await writeFile(join(certs, "served.crt"), await readFile(first.cert));
    await writeFile(join(certs, "served.key"), await readFile(first.key));
    server = await useServer([
      ...["--tls-cert", join(certs, "served.crt"), "--tls-key", join(certs, "served.key"), "--https-port", "0"],
      ...["--trust-proxy", "127.0.0.2"],
    ]);
    httpsPort = Number((await printed(server, /HTTPS is served on https:\/\/127\.0\.0\.1:(\d+)/))[1]);
    env = loggedIn(server, await useTmpDir());
    dir = join(await useTmpDir(), "whoami");
    await mkdir(dir);
    await writeApp(dir, { "index.js": WHOAMI });
    const created = await cli(["new"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
  });

  it("`domains add` gives the micro a host name, lower-cased, shown by `details` with https endpoints", async () => {
    const added = await cli(["domains", "add", "App.Example.Test."], { cwd: dir, env });
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, new RegExp(`answers at https://${DOMAIN.replaceAll(".", "\\.")}:${httpsPort}`));
    const details = JSON.parse((await cli(["details", "--json"], { cwd: dir, env })).stdout);
    assert.deepEqual(
      details.domains.map((domain: { host: string; endpoint: string }) => [domain.host, domain.endpoint]),
      [[DOMAIN, `https://${DOMAIN}:${httpsPort}`]],
    );
    assert.equal(details.endpoint, `https://whoami.localhost:${httpsPort}`, "the certificate file covers subdomains");
    assert.match((await cli(["details"], { cwd: dir, env })).stdout, /domains: +https:\/\/app\.example\.test:/);
    const listed = JSON.parse((await cli(["domains", "list", "--json"], { cwd: dir, env })).stdout);
    assert.deepEqual(
      listed.map((domain: { host: string }) => domain.host),
      [DOMAIN],
    );
  });

  it("the micro answers at its custom domain over HTTPS with the file's certificate, and over HTTP on any port", async () => {
    const res = await overHttps(httpsPort, DOMAIN, await readFile(first.cert, "utf8"));
    assert.equal(res.status, 200);
    assert.equal(res.cert.subject.CN, "first");
    const seen = JSON.parse(res.body) as Seen;
    assert.equal(seen.proto, "https");
    assert.equal(seen.for, "127.0.0.1");
    const plain = await request(server.port, `${DOMAIN}:8080`);
    assert.equal(plain.status, 200, plain.body);
    assert.equal((JSON.parse(plain.body) as Seen).proto, "http");
  });

  it("a host another micro has is refused with 409; IPs and the platform's own names are not domains", async () => {
    const { body } = await api<{ micros: { runtime: string }[] }>(server, "/v1/micros?name=whoami");
    const runtime = body.micros[0]?.runtime;
    const post = (path: string, payload: unknown) =>
      fetch(`http://127.0.0.1:${server.port}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
        body: JSON.stringify(payload),
      });
    const other = (await (await post("/v1/micros", { name: "other", runtime })).json()) as { micro: { id: string } };
    const taken = await post(`/v1/micros/${other.micro.id}/domains`, { host: "APP.example.test" });
    assert.equal(taken.status, 409);
    const error = ((await taken.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, "ERR_DOMAIN_TAKEN");
    assert.match(error.message, /already the domain of another micro/);
    for (const host of ["127.0.0.1", "other.localhost", "localhost", "no_dots", "-bad.example.com"]) {
      const refused = await post(`/v1/micros/${other.micro.id}/domains`, { host });
      assert.equal(refused.status, 400, host);
    }
    const cliTaken = await cli(["domains", "add", DOMAIN], { cwd: dir, env });
    assert.equal(cliTaken.code, 1);
    assert.match(cliTaken.stderr, /already a domain of this micro/);
  });

  it("replaced certificate files are served without a restart; open connections go on; a bad pair is refused", async () => {
    const ca = await readFile(first.cert, "utf8");
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await overHttps(httpsPort, DOMAIN, ca, keepAlive);
    assert.equal(before.status, 200);

    const second = await makeCertificate(certs, "second");
    // As renewal tools do: the new file written beside, then renamed over the old.
    await writeFile(join(certs, "next.key"), await readFile(second.key));
    await rename(join(certs, "next.key"), join(certs, "served.key"));
    await writeFile(join(certs, "next.crt"), await readFile(second.cert));
    await rename(join(certs, "next.crt"), join(certs, "served.crt"));
    await waitFor("the new certificate", async () =>
      (await servedName(httpsPort, DOMAIN)) === "second" ? true : undefined,
    );
    const kept = await overHttps(httpsPort, DOMAIN, ca, keepAlive);
    assert.equal(kept.status, 200, "the connection opened before the change still serves");
    assert.equal(kept.cert.subject.CN, "first", "on the same connection, with its certificate");
    keepAlive.destroy();

    // A key that is not the certificate's: logged, and the second pair stays. (A renewal caught half-way, the key
    // new and the certificate not yet, may have been refused already: count the refusals.)
    const refusals = () => server.output().split("the previous certificate is still served").length;
    const refused = refusals();
    await writeFile(join(certs, "served.key"), await readFile(first.key));
    await waitFor("the refusal in the server's log", async () => (refusals() > refused ? true : undefined));
    assert.equal(await servedName(httpsPort, DOMAIN), "second");
    const res = await overHttps(httpsPort, DOMAIN, await readFile(second.cert, "utf8"));
    assert.equal(res.status, 200);
  });

  it("behind a trusted proxy the app sees the real client; from any other address those headers are replaced", async () => {
    const proxied = await from("127.0.0.2", server.port, {
      "x-forwarded-for": "203.0.113.7, 127.0.0.2",
      "x-forwarded-proto": "https",
    });
    // 127.0.0.2 itself is trusted, so the walk goes on to the address it heard from.
    assert.equal(proxied.for, "203.0.113.7");
    assert.equal(proxied.proto, "https");
    assert.equal(proxied.forwarded, `for=203.0.113.7;host="${DOMAIN}:${server.port}";proto=https`);

    const rfc7239 = await from("127.0.0.2", server.port, { forwarded: 'for="[2001:db8::7]:4711";proto=https' });
    assert.equal(rfc7239.for, "2001:db8::7");
    assert.equal(rfc7239.proto, "https");

    const untrusted = await from("127.0.0.1", server.port, {
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
      forwarded: "for=203.0.113.7;proto=https",
    });
    assert.equal(untrusted.for, "127.0.0.1");
    assert.equal(untrusted.proto, "http");

    const visor = await cli(["visor", "--json"], { cwd: dir, env });
    const clients = (JSON.parse(visor.stdout) as { client: string }[]).map((record) => record.client);
    assert.ok(clients.includes("203.0.113.7"), `the visor records the real client: ${clients.join(", ")}`);
    assert.ok(clients.includes("127.0.0.1"));
  });

  it("the dashboard's cookie is Secure when the client used HTTPS: directly, or as a trusted proxy says", async () => {
    const cookieFrom = (localAddress: string, headers: Record<string, string>) =>
      new Promise<string>((resolve, reject) => {
        const body = JSON.stringify({ token: server.token });
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port: server.port,
            localAddress,
            method: "POST",
            path: "/v1/session",
            headers: { host: `localhost:${server.port}`, "content-type": "application/json", ...headers },
          },
          (res) => {
            res.resume();
            resolve(String(res.headers["set-cookie"]));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    assert.match(
      await cookieFrom("127.0.0.2", { "x-forwarded-proto": "https" }),
      /HttpOnly; SameSite=Strict.*; Secure$/,
    );
    assert.doesNotMatch(await cookieFrom("127.0.0.1", { "x-forwarded-proto": "https" }), /Secure/);
    assert.doesNotMatch(await cookieFrom("127.0.0.2", {}), /Secure/);
  });

  it("`domains remove` stops serving the micro at the host", async () => {
    const removed = await cli(["domains", "remove", DOMAIN], { cwd: dir, env });
    assert.equal(removed.code, 0, removed.stderr);
    // The host is the control plane's again, like any host that is no micro's.
    const res = await request(server.port, DOMAIN, "/healthz");
    assert.deepEqual(JSON.parse(res.body), { ok: true });
    const listed = JSON.parse((await cli(["domains", "list", "--json"], { cwd: dir, env })).stdout);
    assert.deepEqual(listed, []);
  });
});
