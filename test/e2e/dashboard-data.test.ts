import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { type DashboardBrowser, screenshot, useBrowser } from "../helpers/browser.js";
import { api, cli, loggedIn, type MicrosServer, request, useServer, useTmpDir, writeApp } from "../helpers/micros.js";

// Prints what follows /print/ (decoded) and answers which request of its instance this is.
const APP = `let count = 0;
module.exports = (req, res) => {
  if (req.url.startsWith("/print/")) {
    console.log(decodeURIComponent(req.url.slice("/print/".length)));
    return res.end("printed");
  }
  count++;
  res.end("answer " + count);
};
`;

/** Markup a micro may print or store: the dashboard must show it as text and never make elements of it. */
const SCRIPT = "<script>window.pwned=1</script>";
const IMG = `<img src=x onerror="window.pwned=1">`;

describe("the dashboard's logs, visor, Base and Drive pages", () => {
  let server: MicrosServer;
  let dashboard: DashboardBrowser;
  let page: Page;
  let microId: string;
  let projectKey: string;
  let projectId: string;
  const host = () => `shown.localhost:${server.port}`;

  /** The control API with the admin's token, as a script would call it. */
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return response.json() as Promise<unknown>;
  };

  /** Nothing the page showed was made into an element, and no script of it ran. */
  const assertInert = async () => {
    assert.equal(await page.locator("script", { hasText: "pwned" }).count(), 0);
    assert.equal(await page.locator("img").count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: unknown }).pwned), undefined);
  };

  before(async () => {
    server = await useServer(["--drive-quota", "24"]);
    const env = loggedIn(server, await useTmpDir());
    const dir = join(await useTmpDir(), "shown");
    await mkdir(dir);
    await writeApp(dir, { "index.js": APP });
    const created = await cli(["new"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    const micros = await api<{ micros: { id: string }[] }>(server, "/v1/micros?name=shown");
    microId = micros.body.micros[0]?.id ?? "";
    const key = await api<{ key: string; project: { id: string } }>(server, "/v1/projects/default/key");
    projectKey = key.body.key;
    projectId = key.body.project.id;
    dashboard = await useBrowser(server);
    page = dashboard.page;
    await page.setViewportSize({ width: 1200, height: 800 });
    await dashboard.signIn();
  });

  it("shows a request in the visor as it arrives, with a cold start's phases, and replays it beside the old answer", async () => {
    await page.goto(`${dashboard.url}/micros/${microId}/visor`);
    await page.getByRole("button", { name: "Record bodies" }).click();
    await page.getByText("Bodies and request headers are recorded.").waitFor();
    // The page is open before the request: it arrives while the page watches.
    assert.equal((await request(server.port, host(), "/first")).body, "answer 1");
    const row = page.locator("tr[data-request]", { hasText: "/first" });
    await row.waitFor();
    assert.equal(await row.locator(".badge").textContent(), "cold");
    for (const phase of ["sandbox", "code", "load", "first byte"]) {
      assert.match((await row.locator(`[data-phase="${phase}"]`).textContent()) ?? "", /^[a-z ]+ [\d.]+ ms$/);
    }
    assert.equal(await row.locator("td.num").first().textContent(), "200");

    await row.getByRole("button").click();
    const detail = page.getByRole("region", { name: "Request" });
    await detail.getByTestId("recorded-body").getByText("answer 1").waitFor();
    await detail.getByText("user-agent").or(detail.getByText("host")).first().waitFor();
    await detail.getByRole("button", { name: "Replay" }).click();
    await page.getByTestId("replay-status").getByText("Replayed answer: 200").waitFor();
    assert.equal(await page.getByTestId("replay-body").textContent(), "answer 2");
    assert.equal(await page.getByTestId("recorded-body").textContent(), "answer 1");
    await screenshot(page, "dashboard-visor");
  });

  it("follows the logs live, filters them, and shows printed markup as text", async () => {
    await page.goto(`${dashboard.url}/micros/${microId}/logs`);
    await page.getByTestId("follow-state").getByText("following").waitFor();
    for (const text of ["a line printed while the page follows", SCRIPT, IMG]) {
      await request(server.port, host(), `/print/${encodeURIComponent(text)}`);
      await page.locator("td.log-message", { hasText: text }).first().waitFor();
    }
    assert.ok(await page.getByText(SCRIPT, { exact: true }).isVisible());
    assert.ok(await page.getByText(IMG, { exact: true }).isVisible());
    await assertInert();
    const stdout = page.locator("tr[data-source=stdout]", { hasText: "while the page follows" });
    assert.match((await stdout.locator("td").nth(2).textContent()) ?? "", /\S/, "the instance is shown");

    await screenshot(page, "dashboard-logs");
    await page.getByLabel("Filter").fill("while the page");
    await page.getByText(/^following · 1 of \d+ lines$/).waitFor();
    await page.getByLabel("Filter").fill("");
  });

  it("queries, edits, adds and deletes Base items, showing stored markup as text", async () => {
    const items = "/v1/projects/default/bases/people/items";
    await call("POST", items, { item: { key: "ada", name: "Ada", age: 36 } });
    await call("POST", items, { item: { key: "grace", name: "Grace", age: 45 } });
    await call("POST", items, { item: { key: "mallory", bio: SCRIPT, avatar: IMG } });
    await page.goto(`${dashboard.url}/projects/default/base`);
    await page.locator("tr[data-item=mallory]").waitFor();
    // Items are shown as JSON text: the markup as it is, the quotes in it escaped as JSON writes them.
    const mallory = page.locator("tr[data-item=mallory]");
    assert.ok(await mallory.getByText(JSON.stringify(SCRIPT), { exact: false }).isVisible());
    assert.ok(await mallory.getByText(JSON.stringify(IMG), { exact: false }).isVisible());
    await assertInert();

    await page.getByLabel("Query").fill('[{"age?gt": 40}]');
    await page.getByRole("button", { name: "Query" }).click();
    await page.locator("tr[data-item=ada]").waitFor({ state: "detached" });
    assert.deepEqual(await page.locator("tr[data-item]").evaluateAll((rows) => rows.map((r) => r.dataset.item)), [
      "grace",
    ]);
    await page.getByLabel("Query").fill("[]");
    await page.getByRole("button", { name: "Query" }).click();

    await page.locator("tr[data-item=ada]").getByRole("button", { name: "Edit" }).click();
    const editor = page.getByRole("form", { name: "Edit item" });
    // Checked in the page before anything is sent.
    await editor.getByLabel("Item JSON").fill('{"key": "ada", "age": ');
    await editor.getByRole("button", { name: "Save" }).click();
    await editor
      .getByRole("alert")
      .getByText(/^Not valid JSON/)
      .waitFor();
    await editor.getByLabel("Item JSON").fill('{"key": "ada", "name": "Ada Lovelace", "age": 37}');
    await editor.getByRole("button", { name: "Save" }).click();
    await page.locator("tr[data-item=ada]").getByText("Ada Lovelace", { exact: false }).waitFor();
    // Through Deta's own API, as a micro reads it.
    const stored = await fetch(`http://127.0.0.1:${server.port}/base/v1/${projectId}/people/items/ada`, {
      headers: { "x-api-key": projectKey },
    });
    assert.deepEqual(await stored.json(), { key: "ada", name: "Ada Lovelace", age: 37 });
    await screenshot(page, "dashboard-base");

    await page.getByRole("button", { name: "Add item" }).click();
    const added = page.getByRole("form", { name: "New item" });
    await added.getByLabel("Item JSON").fill('{"key": "ada", "name": "twice"}');
    await added.getByRole("button", { name: "Save" }).click();
    await added.getByText("ERR_ITEM_EXISTS").waitFor();
    await added.getByLabel("Item JSON").fill('{"key": "linus", "age": 20}');
    await added.getByRole("button", { name: "Save" }).click();
    await page.locator("tr[data-item=linus]").waitFor();

    await page.locator("tr[data-item=mallory]").getByRole("button", { name: "Delete" }).click();
    await page.locator("tr[data-item=mallory]").waitFor({ state: "detached" });
    const gone = await fetch(`http://127.0.0.1:${server.port}/base/v1/${projectId}/people/items/mallory`, {
      headers: { "x-api-key": projectKey },
    });
    assert.equal(gone.status, 404);
    await assertInert();
  });

  it("takes an upload over 10 MB as a stream of parts, and answers in the control API's shape", async () => {
    const big = Buffer.alloc(21 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    const files = `http://127.0.0.1:${server.port}/v1/projects/default/drives/files/files`;
    const auth = { authorization: `Bearer ${server.token}` };
    const put = await fetch(`${files}?name=big/parts.bin`, {
      method: "PUT",
      headers: { ...auth, "content-type": "application/octet-stream" },
      body: big,
    });
    assert.equal(put.status, 201, await put.clone().text());
    assert.deepEqual(await put.json(), {
      file: { name: "big/parts.bin", size: big.length, contentType: "application/octet-stream" },
    });
    const got = await fetch(`${files}/content?name=big/parts.bin`, { headers: auth });
    assert.match(got.headers.get("content-disposition") ?? "", /^attachment/);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(big));

    const missing = await fetch(`${files}/content?name=nothing.txt`, { headers: auth });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "ERR_FILE_NOT_FOUND");
    const badQuery = await fetch(
      `http://127.0.0.1:${server.port}/v1/projects/default/bases/people/items?query=${encodeURIComponent('[{"age?zz": 1}]')}`,
      { headers: auth },
    );
    assert.equal(badQuery.status, 400);
    assert.equal(((await badQuery.json()) as { error: { code: string } }).error.code, "ERR_VALIDATION");
  });

  it("uploads, downloads and deletes a Drive file, and says when the drive is full", async () => {
    await page.goto(`${dashboard.url}/projects/default/drive`);
    await page.getByLabel("Drive name").fill("files");
    await page.getByRole("button", { name: "Open" }).click();
    const content = Buffer.from("hello from the drive\n");
    await page
      .getByLabel("File to upload")
      .setInputFiles({ name: "hello.txt", mimeType: "text/plain", buffer: content });
    await page.getByLabel("Name in the drive").fill("notes/hello.txt");
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    const row = page.locator('tr[data-file="notes/hello.txt"]');
    await row.waitFor();
    const listed = await fetch(`http://127.0.0.1:${server.port}/drive/v1/${projectId}/files/files?prefix=notes/`, {
      headers: { "x-api-key": projectKey },
    });
    assert.deepEqual(await listed.json(), { names: ["notes/hello.txt"] });

    const [download] = await Promise.all([page.waitForEvent("download"), row.getByText("Download").click()]);
    assert.equal(download.suggestedFilename(), "hello.txt");
    assert.deepEqual(await readFile((await download.path()) ?? ""), content);

    // The server runs with a 24 MB quota, 21 MB of it taken by the test before.
    await page.getByLabel("File to upload").setInputFiles({
      name: "big.bin",
      mimeType: "application/octet-stream",
      buffer: Buffer.alloc(4 * 1024 * 1024, 7),
    });
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.getByText("ERR_STORAGE_FULL").waitFor();
    assert.equal(await page.locator('tr[data-file="big.bin"]').count(), 0);

    await row.getByRole("button", { name: "Delete" }).click();
    await row.waitFor({ state: "detached" });
    const after = await fetch(`http://127.0.0.1:${server.port}/drive/v1/${projectId}/files/files?prefix=notes/`, {
      headers: { "x-api-key": projectKey },
    });
    assert.deepEqual(await after.json(), { names: [] });
  });
});
