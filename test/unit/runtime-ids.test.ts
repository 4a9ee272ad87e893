import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nodeRuntime } from "../../src/server/runtimes/node-runtime.js";
import { pythonRuntime } from "../../src/server/runtimes/python-runtime.js";
import { RuntimeRegistry } from "../../src/server/runtimes/registry.js";
import { MicrosError } from "../../src/shared/errors.js";

const node = nodeRuntime();
const major = Number(node.id.slice("nodejs".length));
const registry = new RuntimeRegistry([node, pythonRuntime("python3.11", "/usr/bin/python3")]);

describe("runtime ids", () => {
  it("resolve a language name or this server's own id", () => {
    for (const name of ["node", "nodejs", node.id]) assert.equal(registry.resolve(name), node.id);
    for (const name of ["python", "python3", "python3.11"]) assert.equal(registry.resolve(name), "python3.11");
  });

  it("run an earlier version of the language on this server's, back to Deta's oldest", () => {
    for (const id of ["nodejs12", "nodejs16", `nodejs${major - 1}`]) assert.equal(registry.get(id), node, id);
    for (const id of ["python3.7", "python3.9", "python3.10"]) assert.equal(registry.get(id).id, "python3.11", id);
    assert.equal(registry.resolve("nodejs18"), node.id);
  });

  it("refuse ids that are not a real runtime of the language, listing what the server offers", () => {
    const unknown = [
      "nodejs0",
      "nodejs11",
      "nodejs999",
      `nodejs${major + 1}`,
      "nodejs",
      "nodejs20.1",
      "nodejs020",
      "python2",
      "python2.7",
      "python3.6",
      "python3.12",
      "python9.99",
      "python3.011",
      "ruby3.2",
      "",
    ];
    for (const id of unknown) {
      assert.throws(
        () => registry.get(id),
        (err: unknown) =>
          err instanceof MicrosError &&
          err.code === "ERR_VALIDATION" &&
          err.message.startsWith(`Unknown runtime ${id}. This server offers ${node.id} and python3.11;`),
        id,
      );
    }
    assert.throws(() => registry.resolve("python9.99"), /Unknown runtime python9\.99/);
  });

  it("refuse a language this server does not offer", () => {
    const nodeOnly = new RuntimeRegistry([node]);
    assert.throws(() => nodeOnly.resolve("python"), /Unknown runtime python\. This server offers nodejs\d+;/);
    assert.throws(() => nodeOnly.get("python3.9"), /Unknown runtime python3\.9/);
  });
});
