import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { screenshot, useBrowser } from "../helpers/browser.js";
import { cli, loggedIn, type MicrosServer, request, useServer, useTmpDir, writeApp } from "../helpers/micros.js";

const app = (version: string) =>
  `micros.cron(() => ({ ran: "${version}" }));\n` +
  `module.exports = (req, res) => res.end("${version} " + (process.env.GREETING ?? "-"));\n`;

describe("the dashboard's page of a micro", () => {
  let server: MicrosServer;
  let page: Page;
  let dir: string;
  const hello = (headers: Record<string, string> = {}) =>
    request(server.port, `hello.localhost:${server.port}`, "/", { headers });
  const section = (name: string) => page.getByRole("region", { name });

  before(async () => {
    server = await useServer();
    const env = loggedIn(server, await useTmpDir());
    dir = join(await useTmpDir(), "hello");
    await mkdir(dir);
    for (const version of ["v1", "v2"]) {
      await writeApp(dir, { "index.js": app(version) });
      const deployed = await cli([version === "v1" ? "new" : "deploy"], { cwd: dir, env });
      assert.equal(deployed.code, 0, deployed.stderr);
    }
    const dashboard = await useBrowser(server);
    page = dashboard.page;
    await dashboard.signIn();
  });

  it("opens from the list, with its endpoint and the serving release", async () => {
    await page.getByRole("link", { name: "hello", exact: true }).click();
    await page.getByRole("heading", { name: "hello" }).waitFor();
    assert.equal(await page.getByTestId("endpoint").textContent(), `http://hello.localhost:${server.port}`);
    assert.match((await page.getByTestId("release").textContent()) ?? "", /^v2, deployed/);
    assert.equal((await hello()).body, "v2 -");
    await screenshot(page, "dashboard-micro");
  });

  it("rolls back to an earlier release with one click", async () => {
    await section("Releases").getByRole("button", { name: "Roll back to v1" }).click();
    await page
      .getByTestId("release")
      .getByText(/^v1, deployed/)
      .waitFor();
    await page.locator("[data-release=v1]").getByText("serving").waitFor();
    assert.equal((await hello()).body, "v1 -");
  });

  it("sets and removes an environment variable, showing its name only", async () => {
    const env = section("Environment variables");
    await env.getByLabel("Variable name").fill("GREETING");
    await env.getByLabel("Variable value").fill("hi there");
    await env.getByRole("button", { name: "Set" }).click();
    await page.locator("[data-env=GREETING]").waitFor();
    assert.equal(await page.getByText("hi there").count(), 0);
    assert.equal((await hello()).body, "v1 hi there");
    await page.locator("[data-env=GREETING]").getByRole("button", { name: "Remove" }).click();
    await page.locator("[data-env=GREETING]").waitFor({ state: "detached" });
    assert.equal((await hello()).body, "v1 -");
  });

  it("creates an API key, shown once, that opens the private micro, and deletes it", async () => {
    const keys = section("HTTP auth and API keys");
    await keys.getByRole("button", { name: "Make private" }).click();
    await page.getByTestId("http-auth").getByText("private").waitFor();
    assert.equal((await hello()).status, 401);
    await keys.getByLabel("Key name").fill("ci");
    // What the page shows of stored text is text: markup in it is never made into elements.
    await keys.getByLabel("Key description").fill("<b id=injected>bold</b>");
    await keys.getByRole("button", { name: "Create key" }).click();
    const key = ((await page.getByTestId("new-key").locator("pre").textContent()) ?? "").trim();
    assert.match(key, /\S+\.\S+/);
    await page.locator("[data-key=ci]").getByText("<b id=injected>bold</b>", { exact: false }).waitFor();
    assert.equal(await page.locator("#injected").count(), 0);
    assert.equal((await hello({ "x-api-key": key })).status, 200);
    await page.locator("[data-key=ci]").getByRole("button", { name: "Delete" }).click();
    await page.locator("[data-key=ci]").waitFor({ state: "detached" });
    assert.equal(await page.getByTestId("new-key").count(), 0);
    assert.equal((await hello({ "x-api-key": key })).status, 401);
    await keys.getByRole("button", { name: "Make public" }).click();
    await page.getByTestId("http-auth").getByText("public").waitFor();
  });

  it("sets a schedule and runs the cron handler now", async () => {
    const cron = section("Cron");
    await cron.getByLabel("Schedule").fill("5 minutes");
    await cron.getByRole("button", { name: "Set schedule" }).click();
    assert.equal(await page.getByTestId("cron-expression").textContent(), "5 minutes");
    await cron.getByRole("button", { name: "Run now" }).click();
    await page.getByTestId("cron-outcome").waitFor();
    assert.match((await page.getByTestId("cron-outcome").textContent()) ?? "", /^ok in \d+ ms\n[\s\S]*"ran": "v1"/);
  });

  it("deletes the micro once its name is typed", async () => {
    const remove = page.getByRole("button", { name: "Delete hello" });
    assert.equal(await remove.isDisabled(), true);
    await page.getByLabel("Type the micro's name to confirm").fill("hello");
    await remove.click();
    await page.getByText("No micros yet").waitFor();
    assert.equal((await hello()).status, 404);
  });
});
