import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { routeForHost } from "../../src/server/gateway/host-routing.js";

describe("routing by Host header", () => {
  const cases: [string | undefined, string, ReturnType<typeof routeForHost>][] = [
    ["hello.localhost:4000", "localhost", { kind: "micro", subdomain: "hello" }],
    ["HELLO.LocalHost:4000", "localhost", { kind: "micro", subdomain: "hello" }],
    ["hello.localhost.", "localhost", { kind: "micro", subdomain: "hello" }],
    ["api.micros.example.com", "micros.example.com", { kind: "micro", subdomain: "api" }],
    ["a.b.localhost", "localhost", { kind: "micro", subdomain: "a.b" }],
    ["localhost:4000", "localhost", { kind: "control" }],
    ["127.0.0.1:4000", "localhost", { kind: "control" }],
    ["[::1]:4000", "localhost", { kind: "control" }],
    [undefined, "localhost", { kind: "control" }],
    ["evil.com", "localhost", { kind: "control" }],
    ["hello.localhostx", "localhost", { kind: "control" }],
    ["hellolocalhost", "localhost", { kind: "control" }],
  ];
  for (const [host, domain, expected] of cases) {
    it(`${host ?? "(no host)"} with domain ${domain}`, () => assert.deepEqual(routeForHost(host, domain), expected));
  }
});

describe("routing custom domains by Host header", () => {
  const custom = (host: string) => (host === "app.example.com" ? "hello" : undefined);
  const cases: [string, ReturnType<typeof routeForHost>][] = [
    ["app.example.com", { kind: "micro", subdomain: "hello" }],
    ["APP.Example.com:8443", { kind: "micro", subdomain: "hello" }],
    ["app.example.com.", { kind: "micro", subdomain: "hello" }],
    ["www.app.example.com", { kind: "control" }],
    ["example.com", { kind: "control" }],
    ["other.localhost:4000", { kind: "micro", subdomain: "other" }],
  ];
  for (const [host, expected] of cases) {
    it(host, () => assert.deepEqual(routeForHost(host, "localhost", custom), expected));
  }
});
