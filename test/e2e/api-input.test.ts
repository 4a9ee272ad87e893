/**
 * The control API's input at its edge: every number bounded, runtimes from the server's list, and every error (from
 * our routes or from fastify and the HTTP parser beneath them) in our shape with a documented code.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { before, describe, it } from "node:test";
import { ERROR_CODES } from "../../src/shared/errors.js";
import { type MicrosServer, useServer } from "../helpers/micros.js";

interface Answer {
  status: number;
  body: unknown;
}

let server: MicrosServer;

async function call(
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${server.token}`, ...options.headers };
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the assertions below say so.
  }
  return { status: response.status, body: parsed };
}

/** An error in our shape, with this status and code, the code one of ours (each documented in docs/errors.md). */
function assertError(answer: Answer, status: number, code: string, message?: RegExp): string {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  const error = (answer.body as { error?: { code?: unknown; message?: unknown } }).error;
  assert.ok(error, `our shape: ${JSON.stringify(answer.body)}`);
  assert.equal(error.code, code, JSON.stringify(answer.body));
  assert.ok(Object.hasOwn(ERROR_CODES, code));
  assert.equal(typeof error.message, "string");
  assert.deepEqual(
    Object.keys(answer.body as object),
    ["error"],
    "nothing but the error (no statusCode, no fastify fields)",
  );
  if (message) assert.match(error.message as string, message);
  return error.message as string;
}

/** Bytes sent as they are, for what the HTTP parser refuses before any route; the whole answer as text. */
function rawHttp(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1", () => socket.end(bytes));
    let answer = "";
    socket.on("data", (chunk: Buffer) => {
      answer += chunk;
    });
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
  });
}

/** A JSON body of `bytes`; the server may answer before it has read it all, so send errors after that are moot. */
/**
 * A POST that declares a body of `bytes` and sends only its start: the API refuses on the declared length, before
 * reading. (Sending the whole body races the refusal: the server may close while the client still writes.)
 */
function sendLarge(path: string, bytes: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port: server.port,
        path,
        method: "POST",
        headers: {
          authorization: `Bearer ${server.token}`,
          "content-type": "application/json",
          "content-length": bytes,
        },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk;
        });
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          req.destroy();
        });
      },
    );
    req.on("error", reject);
    req.write(`{"name": "${"x".repeat(64 * 1024)}`);
  });
}

async function createMicro(name: string, runtime = "node"): Promise<{ id: string; runtime: string }> {
  const created = await call("POST", "/v1/micros", { body: { name, runtime } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return (created.body as { micro: { id: string; runtime: string } }).micro;
}

describe("API input", () => {
  let micro: { id: string; runtime: string };
  before(async () => {
    server = await useServer(["--warm-pool", "0"]);
    micro = await createMicro("bounded");
  });

  it("refuses a cron rate over a year with 400, stores nothing, and the micros still list", async () => {
    for (const expression of ["99999999999 days", "366 days", "9000 hours", "0 0 30 2 *"]) {
      assertError(await call("PUT", `/v1/micros/${micro.id}/cron`, { body: { expression } }), 400, "ERR_VALIDATION");
    }
    const listed = await call("GET", "/v1/micros");
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.equal((listed.body as { micros: { cron: unknown }[] }).micros[0]?.cron, null);
    const yearly = await call("PUT", `/v1/micros/${micro.id}/cron`, { body: { expression: "365 days" } });
    assert.equal(yearly.status, 200, JSON.stringify(yearly.body));
    assert.equal((await call("DELETE", `/v1/micros/${micro.id}/cron`)).status, 204);
  });

  it("refuses limits outside their range: a timeout under a second, absurd memory, an empty body limit", async () => {
    const refused = [
      { timeoutSeconds: 1e-300 },
      { timeoutSeconds: 0.5 },
      { timeoutSeconds: 0 },
      { memoryMb: 1e300 },
      { memoryMb: 16 },
      { memoryMb: 256.5 },
      { requestBodyMb: 0 },
      { requestBodyMb: -1 },
      { requestBodyMb: 1e300 },
    ];
    for (const body of refused) {
      assertError(await call("PATCH", `/v1/micros/${micro.id}/limits`, { body }), 400, "ERR_VALIDATION");
    }
    const fine = await call("PATCH", `/v1/micros/${micro.id}/limits`, { body: { timeoutSeconds: 1, memoryMb: 64 } });
    assert.equal(fine.status, 200, JSON.stringify(fine.body));
    const limits = (fine.body as { micro: { limits: { timeoutSeconds: number; memoryMb: number } } }).micro.limits;
    assert.deepEqual([limits.timeoutSeconds, limits.memoryMb], [1, 64]);
    assertError(
      await call("PATCH", `/v1/micros/${micro.id}/limits`, { body: { memoryMb: 999_999 } }),
      400,
      "ERR_VALIDATION",
      /over this server's maximum of 2048 MB/,
    );
  });

  it("refuses runtimes that are not real ones of a language the server offers, listing those it offers", async () => {
    for (const runtime of ["nodejs0", "nodejs999", "python2", "python9.99", "ruby", "x".repeat(51)]) {
      const answer = await call("POST", "/v1/micros", { body: { name: "some-runtime", runtime } });
      assertError(answer, 400, "ERR_VALIDATION", runtime.length > 50 ? /runtime/ : /This server offers nodejs\d+/);
    }
    assertError(
      await call("PATCH", `/v1/micros/${micro.id}`, { body: { runtime: "nodejs999" } }),
      400,
      "ERR_VALIDATION",
      /Unknown runtime nodejs999/,
    );
    // An earlier version of the language, as micros were created under before an upgrade, runs on the server's.
    const older = await createMicro("older-node", "nodejs18");
    assert.equal(older.runtime, micro.runtime);
  });

  it("answers fastify's own refusals in our shape", async () => {
    assertError(await call("GET", `/v1/micros/${"x".repeat(101)}`), 400, "ERR_VALIDATION", /longer than 100/);
    assertError(await call("GET", `/v1/micros/${"x".repeat(100)}`), 404, "ERR_MICRO_NOT_FOUND");
    assertError(await call("GET", "/v1/micros/%E0%A4%A"), 400, "ERR_VALIDATION");
    const json = { "content-type": "application/json" };
    assertError(await call("POST", "/v1/projects", { raw: "{", headers: json }), 400, "ERR_VALIDATION", /JSON/);
    assertError(await call("POST", "/v1/projects", { raw: "", headers: json }), 400, "ERR_VALIDATION");
    assertError(
      await call("POST", "/v1/projects", { raw: "<name/>", headers: { "content-type": "application/xml" } }),
      415,
      "ERR_UNSUPPORTED_MEDIA_TYPE",
    );
    assertError(await sendLarge("/v1/projects", 2 * 1024 * 1024), 413, "ERR_PAYLOAD_TOO_LARGE");
    assertError(await call("GET", "/v1/no-such-route"), 404, "ERR_NOT_FOUND");
    assertError(await call("DELETE", "/v1/projects"), 404, "ERR_NOT_FOUND");
    assertError(
      await call("GET", "/v1/micros", { headers: { authorization: "Bearer nope" } }),
      401,
      "ERR_UNAUTHORIZED",
    );
  });

  it("bounds every number of a query, and the length of every string", async () => {
    for (const query of ["limit=0", "limit=10001", "limit=1e400", "limit=abc", `since=${"1".repeat(101)}s`]) {
      assertError(await call("GET", `/v1/micros/${micro.id}/logs?${query}`), 400, "ERR_VALIDATION");
    }
    for (const query of ["limit=0", "limit=1001", "limit=-5"]) {
      assertError(await call("GET", `/v1/micros/${micro.id}/requests?${query}`), 400, "ERR_VALIDATION");
    }
    assertError(
      await call("POST", `/v1/micros/${micro.id}/rollback`, { body: { release: "v".repeat(101) } }),
      400,
      "ERR_VALIDATION",
    );
  });

  it("answers what the HTTP parser refuses in our shape too", async () => {
    const oversized = await rawHttp(
      `GET /v1/whoami HTTP/1.1\r\nHost: localhost\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    assert.match(oversized, /^HTTP\/1\.1 431 /);
    assert.match(oversized, /\{"error":\{"code":"ERR_HEADERS_TOO_LARGE","message":"[^"]+"\}\}$/);
    const garbage = await rawHttp("NOT HTTP AT ALL\r\n\r\n");
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.match(garbage, /\{"error":\{"code":"ERR_VALIDATION","message":"The request is not valid HTTP\."\}\}$/);
  });
});
