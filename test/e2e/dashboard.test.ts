import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { MicroView, SessionView } from "../../src/shared/api.js";
import { type DashboardBrowser, screenshot, useBrowser } from "../helpers/browser.js";
import { cli, loggedIn, type MicrosServer, request, useServer, useTmpDir, writeApp } from "../helpers/micros.js";

/** What a page's own script gets from a call to the API with the browser's cookie. */
async function fetchFromPage(
  dashboard: DashboardBrowser,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: { error?: { code: string } } }> {
  return dashboard.page.evaluate(
    async ({ path, init }) => {
      const response = await fetch(path, init);
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : {} };
    },
    { path, init },
  );
}

describe("the dashboard", () => {
  let server: MicrosServer;
  let dashboard: DashboardBrowser;
  let env: NodeJS.ProcessEnv;
  let app: string;

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
    app = join(await useTmpDir(), "hello");
    await mkdir(app);
    await writeApp(app, { "index.js": `module.exports = (req, res) => res.end("v1");\n` });
    dashboard = await useBrowser(server);
  });

  it("is served at the server's own host, with a strict policy, and leaves the API's paths to the API", async () => {
    const page = await fetch(`${dashboard.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(page.headers.get("cache-control"), "no-cache");
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self';/);
    assert.match(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    const html = await page.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    const asset = await fetch(`${dashboard.url}${script}`);
    assert.match(asset.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.match(asset.headers.get("cache-control") ?? "", /immutable/);
    // A page's address, loaded directly, is the page; anything else is the API's answer, never the page.
    const deep = await fetch(`${dashboard.url}/micros/abc123`);
    assert.match(deep.headers.get("content-type") ?? "", /^text\/html/);
    for (const path of ["/v1/micros", "/assets/missing.js", "/index.php", "/micros/a/b/c"]) {
      const other = await fetch(`${dashboard.url}${path}`);
      assert.match(other.headers.get("content-type") ?? "", /^application\/json/, path);
    }
  });

  it("signs in with a token and lists a micro deployed through the CLI", async () => {
    await dashboard.page.goto(`${dashboard.url}/`);
    await dashboard.page.getByLabel("Access token").waitFor();
    await screenshot(dashboard.page, "dashboard-sign-in");
    await dashboard.signIn();
    await dashboard.page.getByText("No micros yet").waitFor();
    const created = await cli(["new"], { cwd: app, env });
    assert.equal(created.code, 0, created.stderr);
    await dashboard.page.reload();
    const row = dashboard.page.locator("tr[data-micro=hello]");
    await row.waitFor();
    let cells = await row.locator("td").allTextContents();
    assert.deepEqual(cells.slice(0, 7), ["hello", "default", cells[2], "v1", "asleep", "0", "0"]);
    // Its requests of the last hour, from the visor.
    for (let i = 0; i < 2; i++) assert.equal((await request(server.port, `hello.localhost:${server.port}`)).body, "v1");
    await dashboard.page.reload();
    await row.waitFor();
    cells = await row.locator("td").allTextContents();
    assert.deepEqual(cells.slice(4, 7), [cells[4], "2", "0"]);
    await screenshot(dashboard.page, "dashboard-micros");
    assert.match(cells[2] ?? "", /^nodejs\d+$/);
    const cookies = await dashboard.context.cookies();
    const session = cookies.find((cookie) => cookie.name === "micros_session");
    assert.ok(session?.httpOnly, "the session cookie is HttpOnly");
    assert.equal(session?.sameSite, "Strict");
  });

  it("refuses a state-changing call with the cookie but without the CSRF token, and takes it with one", async () => {
    const micros = await fetchFromPage(dashboard, "/v1/micros");
    const micro = (micros.body as unknown as { micros: MicroView[] }).micros[0];
    assert.ok(micro);
    const change = { method: "PATCH", headers: { "content-type": "application/json" }, body: '{"enabled":true}' };
    const refused = await fetchFromPage(dashboard, `/v1/micros/${micro.id}/auth`, change);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error?.code, "ERR_CSRF");
    const forged = { ...change, headers: { ...change.headers, "x-csrf-token": "forged" } };
    assert.equal((await fetchFromPage(dashboard, `/v1/micros/${micro.id}/auth`, forged)).status, 403);
    const session = (await fetchFromPage(dashboard, "/v1/session")).body as unknown as SessionView;
    assert.ok(session.csrfToken);
    const withToken = { ...change, headers: { ...change.headers, "x-csrf-token": session.csrfToken } };
    assert.equal((await fetchFromPage(dashboard, `/v1/micros/${micro.id}/auth`, withToken)).status, 200);
    // The CLI's Bearer calls never need it.
    const viaCli = await cli(["auth", "disable"], { cwd: app, env });
    assert.equal(viaCli.code, 0, viaCli.stderr);
  });

  it("ends a session at once when its token is revoked", async () => {
    const created = await cli(["tokens", "create", "browser", "--json"], { cwd: app, env });
    assert.equal(created.code, 0, created.stderr);
    const { token } = JSON.parse(created.stdout) as { token: string };
    await dashboard.page.getByRole("button", { name: "Sign out" }).click();
    await dashboard.signIn(token);
    assert.equal((await fetchFromPage(dashboard, "/v1/micros")).status, 200);
    const revoked = await cli(["tokens", "revoke", "browser"], { cwd: app, env });
    assert.equal(revoked.code, 0, revoked.stderr);
    const refused = await fetchFromPage(dashboard, "/v1/micros");
    assert.equal(refused.status, 401);
    await dashboard.page.reload();
    await dashboard.page.getByLabel("Access token").waitFor();
  });

  it("signs out: the cookie is gone", async () => {
    await dashboard.signIn();
    await dashboard.page.getByRole("button", { name: "Sign out" }).click();
    await dashboard.page.getByLabel("Access token").waitFor();
    const cookies = await dashboard.context.cookies();
    assert.equal(
      cookies.find((cookie) => cookie.name === "micros_session"),
      undefined,
    );
    assert.equal((await fetchFromPage(dashboard, "/v1/micros")).status, 401);
  });
});
