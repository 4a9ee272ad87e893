/**
 * An installing build finds the package registries at the addresses the server last resolved, so a resolver that
 * falters for a while does not fail deploys: each install looks them up afresh, and a failed or slow lookup keeps
 * the answer before. The resolver is a stand-in here; the hosts file the build sees is checked as written.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { RegistryHosts, registryHostNames } from "../../src/server/builds/registry-hosts.js";
import { useTmpDir } from "../helpers/micros.js";

describe("the registries' addresses a build sees", () => {
  it("follow the resolver while it answers, and keep the last answer when it fails or hangs", async () => {
    const hostsPath = join(await useTmpDir(), "hosts");
    await writeFile(hostsPath, "127.0.0.1 localhost\n10.0.0.9 registry.npmjs.org\n");
    let answer: () => Promise<string[]> = async () => ["192.0.2.1"];
    const hosts = new RegistryHosts(
      ["registry.npmjs.org", "pypi.org"],
      (name) =>
        name === "pypi.org" ? Promise.reject(Object.assign(new Error("no"), { code: "ENOTFOUND" })) : answer(),
      hostsPath,
    );
    const lines = async () => (await hosts.hostsFile()).split("\n");

    const first = await lines();
    assert.deepEqual(first.slice(0, 2), ["127.0.0.1 localhost", "10.0.0.9 registry.npmjs.org"], "the host's own first");
    assert.ok(first.includes("192.0.2.1 registry.npmjs.org"));
    assert.ok(!first.some((line) => line.endsWith(" pypi.org")), "a name never resolved is left to DNS");

    answer = async () => ["192.0.2.2", "192.0.2.3"];
    assert.ok((await lines()).includes("192.0.2.2 registry.npmjs.org"), "a new answer replaces the old");

    answer = () => Promise.reject(Object.assign(new Error("getaddrinfo EAI_AGAIN"), { code: "EAI_AGAIN" }));
    assert.ok((await lines()).includes("192.0.2.2 registry.npmjs.org"), "a failed lookup keeps the last answer");

    answer = () => new Promise(() => {});
    const started = Date.now();
    assert.ok((await lines()).includes("192.0.2.2 registry.npmjs.org"), "a lookup that hangs keeps it too");
    assert.ok(Date.now() - started < 10_000);
  });

  it("are those of the default registries and of the registries and proxies the operator names", () => {
    assert.deepEqual(registryHostNames({}), ["registry.npmjs.org", "pypi.org", "files.pythonhosted.org"]);
    const names = registryHostNames({
      npm_config_registry: "https://NPM.example.com/repo/",
      PIP_INDEX_URL: "https://pypi.example.com/simple",
      PIP_EXTRA_INDEX_URL: "https://extra.example.com/simple https://10.1.2.3/simple",
      https_proxy: "http://proxy.example.com:3128",
      no_proxy: "localhost,.internal",
      npm_config_strict_ssl: "true",
      NPM_TOKEN: "https://secret.example.com/",
    });
    assert.deepEqual(names.slice(3), ["npm.example.com", "proxy.example.com", "pypi.example.com", "extra.example.com"]);
  });
});
