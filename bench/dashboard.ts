/**
 * The dashboard: how soon its first page is usable on a cold load, and whether the micros list stays responsive
 * with 500 micros.
 *
 *   cold load    a fresh browser context each time (nothing cached), from navigation start until the page can be
 *                used: the sign-in page's token field, or the list with all its rows (signed in by the cookie);
 *                beside them the same for a page of one field from a data: URL, the browser's own floor
 *   API          GET /v1/micros and GET /v1/requests/summary for the 500, as the list calls them
 *   typing       one keystroke in the list's filter until the next frame, over the 500 rows
 *   refresh      the longest task that held the page's main thread while the list refreshed itself (every 10 s)
 *
 * The 500 micros are created through the API; the visor's table gets 100 requests of the last hour for each (written
 * straight into the server's database, as serving that many would take long), so the summary has something to count.
 * Headless Chromium (Debian's), on the same machine as the server.
 *
 *   npm run bench:dashboard [-- --micros 500 --samples 10]
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { type Browser, chromium, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../test/helpers/chromium.js";
import { startServer, stats, writeResult } from "./lib.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]) || fallback;
}

const MICROS = flag("micros", 500);
const SAMPLES = flag("samples", 10);
const REQUESTS_PER_MICRO = 100;

interface Load {
  /** The HTML's last byte arrived. */
  htmlMs: number;
  /** The element the page is usable with appeared. */
  readyMs: number;
}

/**
 * Times one load from the page's navigation start, in the page's own clock: a script the browser runs before the
 * page's own (Playwright's init script, which the page's Content-Security-Policy does not apply to) notes when the
 * element `ready` finds first appears, so the figure does not depend on how often Playwright polls.
 */
async function coldLoad(browser: Browser, url: string, cookie: string | undefined, ready: string): Promise<Load> {
  const context = await browser.newContext();
  if (cookie) await context.addCookies([{ name: "micros_session", value: cookie, url }]);
  await context.addInitScript(`new MutationObserver((_, observer) => {
    if (document.querySelector(${JSON.stringify(ready)})) {
      window.readyAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });`);
  const page = await context.newPage();
  try {
    await page.goto(url, { waitUntil: "commit" });
    await page.locator(ready).waitFor({ timeout: 30_000 });
    return {
      htmlMs: await page.evaluate('performance.getEntriesByType("navigation")[0].responseEnd'),
      readyMs: await page.evaluate("window.readyAt"),
    };
  } finally {
    await context.close();
  }
}

/**
 * One keystroke in the filter, until the frame after it: what typing feels like. Run in the page, as text: this
 * file is type-checked for Node, without the DOM's types.
 */
async function keystroke(page: Page, text: string): Promise<number> {
  return page.evaluate(`(async () => {
    const input = document.querySelector("input[type=search]");
    const start = performance.now();
    input.value = ${JSON.stringify(text)};
    input.dispatchEvent(new Event("input", { bubbles: true }));
    await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
    return performance.now() - start;
  })()`);
}

/** The longest task (over 50 ms, as the browser counts them) that held the page's main thread for `ms`. */
function longestTask(page: Page, ms: number): Promise<number> {
  return page.evaluate(`new Promise((done) => {
    let longest = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) longest = Math.max(longest, entry.duration);
    }).observe({ type: "longtask" });
    setTimeout(() => done(longest), ${ms});
  })`);
}

const server = await startServer();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
try {
  const token = server.env.MICROS_ACCESS_TOKEN as string;
  const url = `http://127.0.0.1:${server.port}/`;
  // The floor on this machine at this moment: a fresh context loading a page of one field, with nothing to fetch.
  const blank: Load[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    blank.push(await coldLoad(browser, "data:text/html,<input id=token>", undefined, "#token"));
  }
  const signIn: Load[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    signIn.push(await coldLoad(browser, url, undefined, "#token"));
  }

  const created = performance.now();
  for (let i = 0; i < MICROS; i++) {
    const res = await fetch(`${url}v1/micros`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `micro-${String(i).padStart(3, "0")}`, runtime: "node" }),
    });
    if (res.status !== 201) throw new Error(`creating a micro: ${res.status} ${await res.text()}`);
  }
  const createMs = performance.now() - created;
  const db = new Database(join(server.dataDir, "micros.db"));
  const ids = db.prepare("SELECT id FROM micros").pluck().all() as string[];
  const insert = db.prepare(
    `INSERT INTO requests (micro_id, ts, method, path, status, duration_ms, request_bytes, response_bytes, cold)
     VALUES (?, ?, 'GET', '/', ?, 3, 0, 100, 0)`,
  );
  db.transaction(() => {
    const now = Date.now();
    for (const id of ids) {
      for (let n = 0; n < REQUESTS_PER_MICRO; n++) insert.run(id, now - n * 30_000, n % 10 === 0 ? 500 : 200);
    }
  })();
  db.close();

  const listApi: number[] = [];
  const summaryApi: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    let start = performance.now();
    await server.api("/v1/micros");
    listApi.push(performance.now() - start);
    start = performance.now();
    await server.api("/v1/requests/summary");
    summaryApi.push(performance.now() - start);
  }

  const rowsReady = `tbody tr:nth-child(${MICROS})`;
  const list: Load[] = [];
  for (let i = 0; i < SAMPLES; i++) list.push(await coldLoad(browser, url, token, rowsReady));

  const context = await browser.newContext();
  await context.addCookies([{ name: "micros_session", value: token, url }]);
  const page = await context.newPage();
  await page.goto(url);
  await page.locator(rowsReady).waitFor();
  const typing: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    for (const text of ["m", "mi", "micro-1", "micro-12", "micro-1", "mi", ""])
      typing.push(await keystroke(page, text));
  }
  // While the list refreshes itself twice.
  const longestTaskMs = await longestTask(page, 21_000);
  await context.close();

  const result = {
    micros: MICROS,
    samples: SAMPLES,
    createMicrosMs: Math.round(createMs),
    coldLoadBlankPageMs: stats(blank.map((load) => load.readyMs)),
    coldLoadSignInMs: stats(signIn.map((load) => load.readyMs)),
    signInHtmlMs: stats(signIn.map((load) => load.htmlMs)),
    coldLoadListMs: stats(list.map((load) => load.readyMs)),
    listHtmlMs: stats(list.map((load) => load.htmlMs)),
    apiMicrosMs: stats(listApi),
    apiSummaryMs: stats(summaryApi),
    keystrokeMs: stats(typing),
    longestTaskDuringRefreshMs: Math.round(longestTaskMs),
  };
  console.log(JSON.stringify(result, null, 2));
  await writeResult("dashboard", result);
} finally {
  await browser.close();
  await server.close();
}
