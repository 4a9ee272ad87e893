/**
 * Browser tests of the dashboard: the machine's own headless Chromium (Debian's /usr/bin/chromium, never a
 * download) driven by playwright-core, with an empty profile of its own, closed once the test file is done.
 */
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "./chromium.js";
import { type MicrosServer, onCleanup, useTmpDir } from "./micros.js";

/**
 * The README's pictures of the dashboard are taken by its browser tests, only when `npm run docs:screenshots` runs
 * them (MICROS_SCREENSHOTS names the folder): a plain test run leaves the repository as it was.
 */
const SCREENSHOTS = process.env.MICROS_SCREENSHOTS;

export async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS) await page.screenshot({ path: join(resolve(SCREENSHOTS), `${name}.png`), fullPage: true });
}

export interface DashboardBrowser {
  context: BrowserContext;
  /** The dashboard's address on the server: its own host, http://127.0.0.1:<port>. */
  url: string;
  page: Page;
  /** Signs in through the sign-in page with `token` (the admin's by default) and waits for the micros list. */
  signIn(token?: string): Promise<void>;
}

/** One browser for a test file, pointed at `server`'s dashboard. */
export async function useBrowser(server: MicrosServer): Promise<DashboardBrowser> {
  const profile = await useTmpDir("micros-chromium-");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  // Registered after its profile folder, so the browser has closed before that folder is removed.
  onCleanup(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const url = `http://127.0.0.1:${server.port}`;
  return {
    context,
    url,
    page,
    async signIn(token = server.token) {
      await page.goto(`${url}/`);
      await page.getByLabel("Access token").fill(token);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Micros", exact: true }).waitFor();
    },
  };
}
