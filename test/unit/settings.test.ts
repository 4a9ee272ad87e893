import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { buildProgram } from "../../src/cli/main.js";
import {
  loadServerConfig,
  SETTINGS,
  type SettingSources,
  serverConfigSchema,
  settingList,
} from "../../src/server/config.js";
import { MicrosError } from "../../src/shared/errors.js";
import { useTmpDir } from "../helpers/micros.js";

const MB = 1024 * 1024;

function load(sources: Partial<SettingSources>) {
  return loadServerConfig({ flags: {}, env: {}, cwd: "/", ...sources });
}

/** The lines a refused config gives, or a failure when it is accepted. */
async function refused(sources: Partial<SettingSources>): Promise<string[]> {
  try {
    await load(sources);
  } catch (err) {
    assert.ok(err instanceof MicrosError, String(err));
    assert.equal(err.code, "ERR_INVALID_SETTING");
    return err.message.split("\n");
  }
  assert.fail("the settings were accepted");
}

async function configFile(settings: unknown): Promise<string> {
  const file = join(await useTmpDir(), "micros.json");
  await writeFile(file, typeof settings === "string" ? settings : JSON.stringify(settings));
  return file;
}

describe("server settings", () => {
  it("take a PostgreSQL URL as --database, from a flag, MICROS_DATABASE or the file; SQLite when none", async () => {
    assert.equal((await load({})).database, "");
    const url = "postgres://micros:secret@127.0.0.1:5432/micros";
    assert.equal((await load({ flags: { database: url } })).database, url);
    assert.equal(
      (await load({ env: { MICROS_DATABASE: url.replace("postgres:", "postgresql:") } })).database,
      url.replace("postgres:", "postgresql:"),
    );
    const file = join(await useTmpDir(), "micros.json");
    await writeFile(file, JSON.stringify({ database: url }));
    assert.equal((await load({ configFile: file })).database, url);
  });

  it("refuse a --database that is not PostgreSQL without showing its password", async () => {
    const lines = await refused({ flags: { database: "mysql://admin:hunter2@db.example.com/micros" } });
    assert.deepEqual(lines, [
      '--database must be a PostgreSQL URL such as postgres://user:password@127.0.0.1:5432/micros; got "mysql://admin:***@db.example.com/micros".',
    ]);
  });

  it("are the defaults when nothing sets them, the same as the schema's", async () => {
    const config = await load({});
    assert.deepEqual({ ...config }, serverConfigSchema.parse({}));
    assert.equal(config.port, 4000);
    assert.equal(config.sandbox, "bubblewrap");
    assert.equal(config.idleTimeoutMs, 60_000);
    assert.equal(config.requestBodyBytes, 5.5 * MB);
    assert.ok(Object.isFrozen(config));
  });

  it("has the build settings, with their defaults", async () => {
    const config = await load({});
    assert.equal(config.buildMemoryBytes, 2048 * MB);
    assert.equal(config.buildPids, 1024);
    assert.equal(config.buildCpuWeight, 50);
    assert.equal(config.buildTimeoutMs, 15 * 60_000);
    assert.equal(config.buildDiskBytes, 1024 * MB);
    assert.equal(config.buildCacheBytes, 2048 * MB);
    assert.equal("installTimeoutMs" in config, false);
    const built = await load({
      flags: { buildMemoryBytes: "4096", buildTimeoutMs: "30m", buildPids: "64", buildDiskBytes: "256" },
    });
    assert.equal(built.buildMemoryBytes, 4096 * MB);
    assert.equal(built.buildTimeoutMs, 30 * 60_000);
    assert.equal(built.buildPids, 64);
    assert.equal(built.buildDiskBytes, 256 * MB);
  });

  it("take a flag over a variable, a variable over the file, the file over the default", async () => {
    const file = await configFile({ port: 4100, domain: "file.test", "idle-timeout": "5m", sandbox: "none" });
    const config = await load({
      flags: { port: "4300" },
      env: { MICROS_CONFIG: file, MICROS_PORT: "4200", MICROS_DOMAIN: "env.test" },
    });
    assert.equal(config.port, 4300, "the flag");
    assert.equal(config.domain, "env.test", "the variable");
    assert.equal(config.idleTimeoutMs, 300_000, "the file");
    assert.equal(config.sandbox, "none", "the file");
    assert.equal(config.warmPool, 2, "the default");
  });

  it("reads --config before MICROS_CONFIG, relative to the current folder", async () => {
    const chosen = await configFile({ domain: "chosen.test" });
    const other = await configFile({ domain: "other.test" });
    const config = await load({ configFile: "micros.json", cwd: join(chosen, ".."), env: { MICROS_CONFIG: other } });
    assert.equal(config.domain, "chosen.test");
  });

  it("treat an empty variable as unset", async () => {
    assert.equal((await load({ env: { MICROS_PORT: "" } })).port, 4000);
  });

  it("refuse a bad value in one line that names the setting as it was written and what it accepts", async () => {
    assert.deepEqual(await refused({ flags: { sandbox: "foo" } }), [
      '--sandbox must be one of bubblewrap, none; got "foo".',
    ]);
    assert.deepEqual(await refused({ env: { MICROS_SANDBOX: "foo" } }), [
      'MICROS_SANDBOX must be one of bubblewrap, none; got "foo".',
    ]);
    const file = await configFile({ sandbox: "foo" });
    assert.deepEqual(await refused({ configFile: file }), [
      `sandbox in ${file} must be one of bubblewrap, none; got "foo".`,
    ]);
  });

  it("report every refused value at once, each on its own line", async () => {
    const lines = await refused({
      flags: { port: "99999", warmPool: "-1", buildTimeoutMs: "5s" },
      env: { MICROS_BUILD_MEMORY: "lots", MICROS_LISTEN_HOST: "" },
    });
    assert.deepEqual(lines, [
      '--port must be a whole number from 0 to 65535; got "99999".',
      '--warm-pool must be a whole number from 0 to 16; got "-1".',
      'MICROS_BUILD_MEMORY must be a size in MB from 256 to 1048576; got "lots".',
      '--build-timeout must be a duration from 10s to 2h, such as 30s, 10m or 1h; got "5s".',
    ]);
  });

  it("bound every number: below the minimum and above the maximum are refused", async () => {
    assert.match((await refused({ flags: { buildPids: "63" } }))[0] ?? "", /--build-pids must be .* from 64 to/);
    assert.match((await refused({ flags: { buildDiskBytes: "255" } }))[0] ?? "", /--build-disk .* from 256 to/);
    assert.match((await refused({ flags: { buildTimeoutMs: "3h" } }))[0] ?? "", /--build-timeout .* to 2h/);
    assert.match((await refused({ flags: { requestTimeoutMs: "0.5s" } }))[0] ?? "", /from 1s/);
    assert.match((await refused({ flags: { buildCpuWeight: "10001" } }))[0] ?? "", /from 1 to 10000/);
    assert.match((await refused({ flags: { memoryBytes: "1e9" } }))[0] ?? "", /--memory must be a size in MB/);
    for (const [key, entry] of settingList()) {
      if (entry.type.arg === "<count>" || entry.type.arg === "<MB>" || entry.type.arg === "<duration>") {
        assert.match(entry.type.accepts, / from \S+ to \S+/, `${key} has a minimum and a maximum`);
      }
    }
  });

  it("refuse a config file that cannot be read, is not JSON, or has an unknown key", async () => {
    assert.deepEqual(await refused({ configFile: "/no/such/micros.json" }), [
      "--config /no/such/micros.json cannot be read: there is no such file.",
    ]);
    assert.match(
      (await refused({ env: { MICROS_CONFIG: "/no/such.json" } }))[0] ?? "",
      /^MICROS_CONFIG \/no\/such\.json/,
    );
    const broken = await configFile("{ port: 4000 ");
    assert.match((await refused({ configFile: broken }))[0] ?? "", new RegExp(`^${broken} is not valid JSON: `));
    const list = await configFile([1, 2]);
    assert.match((await refused({ configFile: list }))[0] ?? "", /must hold one JSON object of settings/);
    const unknown = await configFile({ prot: 4000, dataDir: "/x", "data-dir": "/srv/micros" });
    assert.deepEqual(await refused({ configFile: unknown }), [
      `${unknown} has an unknown setting "prot"; its keys are the options of \`micros server\` without --, such as "port" or "data-dir".`,
      `${unknown} has an unknown setting "dataDir"; its keys are the options of \`micros server\` without --, such as "port" or "data-dir".`,
    ]);
    const nested = await configFile({ port: { value: 4000 } });
    assert.deepEqual(await refused({ configFile: nested }), [
      `port in ${nested} must be a whole number from 0 to 65535; got {"value":4000}.`,
    ]);
  });

  it("generate the options of `micros server`, each with its variable and default in the help", async () => {
    const program = await buildProgram(
      { stdout: process.stdout, stderr: process.stderr, env: {}, cwd: "/" },
      async () => {},
    );
    const server = program.commands.find((command: Command) => command.name() === "server");
    assert.ok(server);
    const options = new Map(server.options.map((option) => [option.long, option]));
    for (const [key, entry] of settingList()) {
      const option = options.get(`--${entry.flag}`);
      assert.ok(option, `--${entry.flag} (${key}) is an option`);
      assert.equal(option.flags, `--${entry.flag} ${entry.type.arg}`);
      assert.ok(option.description.includes(entry.env), `--${entry.flag} names ${entry.env}`);
      assert.ok(option.description.includes(`default ${entry.defaultText}`), `--${entry.flag} shows its default`);
    }
    assert.ok(options.has("--config"));
    // The flags that existed before settings were generated keep their names.
    for (const flag of [
      "--port",
      "--host",
      "--data-dir",
      "--domain",
      "--idle-timeout",
      "--request-timeout",
      "--max-instances",
      "--python",
      "--sandbox",
      "--warm-pool",
      "--log-level",
    ]) {
      assert.ok(options.has(flag), flag);
    }
  });

  it("keep MICROS_HOST for the CLI: the listen address is MICROS_LISTEN_HOST", async () => {
    assert.equal(SETTINGS.host.env, "MICROS_LISTEN_HOST");
    const config = await load({ env: { MICROS_HOST: "http://localhost:4000", MICROS_LISTEN_HOST: "0.0.0.0" } });
    assert.equal(config.host, "0.0.0.0");
  });
});
