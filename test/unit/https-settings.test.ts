import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { loadServerConfig } from "../../src/server/config.js";
import { listenHttps } from "../../src/server/tls/https-listener.js";
import type { MicrosError } from "../../src/shared/errors.js";

const sources = { flags: {}, env: {}, cwd: "/" };

describe("HTTPS and trusted proxy settings", () => {
  it("are off by default: no certificate, no ACME, nobody trusted", async () => {
    const config = await loadServerConfig(sources);
    assert.equal(config.tlsCert, "");
    assert.equal(config.acmeEmail, "");
    assert.deepEqual(config.trustProxy, []);
    assert.equal(config.acmeDirectory, "https://acme-v02.api.letsencrypt.org/directory");
  });

  it("read --trust-proxy as a list of addresses and ranges, from a flag or a variable", async () => {
    const flagged = await loadServerConfig({ ...sources, flags: { trustProxy: "127.0.0.2, 10.0.0.0/8,loopback" } });
    assert.deepEqual(flagged.trustProxy, ["127.0.0.2", "10.0.0.0/8", "loopback"]);
    const variable = await loadServerConfig({
      ...sources,
      env: { MICROS_TRUST_PROXY: "::1", MICROS_TLS_CERT: "c.pem" },
    });
    assert.deepEqual(variable.trustProxy, ["::1"]);
    assert.equal(variable.tlsCert, "c.pem");
  });

  it("refuse what is no address, and an ACME directory that is not HTTPS, each in one line", async () => {
    await assert.rejects(
      loadServerConfig({ ...sources, flags: { trustProxy: "10.0.0.1,proxy.example.com", acmeDirectory: "http://ca" } }),
      (err: MicrosError) => {
        assert.equal(err.code, "ERR_INVALID_SETTING");
        assert.match(err.message, /^--trust-proxy must be IP addresses or CIDR ranges/m);
        assert.match(err.message, /^--acme-directory must be an https:\/\/ URL/m);
        return true;
      },
    );
  });

  it("refuse a certificate without its key before listening", async () => {
    const config = await loadServerConfig({ ...sources, flags: { tlsCert: "/nonexistent.pem", httpsPort: "0" } });
    await assert.rejects(listenHttps(config, pino({ enabled: false })), (err: MicrosError) => {
      assert.equal(err.code, "ERR_INVALID_SETTING");
      assert.match(err.message, /--tls-cert and --tls-key go together/);
      return true;
    });
  });
});
