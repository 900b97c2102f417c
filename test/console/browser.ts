// The console's browser tests' one helper: a real server (test/helpers/server.ts) and one headless
// Chromium per test file, a fresh browser context per test, Axe on every page a test visits, and
// a screenshot of the page when a test fails (into test-results/console/, which git ignores).
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AxeBuilder } from "@axe-core/playwright";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type StartOptions, startTestServer, type TestServer } from "../helpers/server.js";

/** Debian's package; a browser download cannot work here, and Playwright's own builds are not used. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(process.cwd(), "test-results", "console");

/**
 * Without Chromium the suite is skipped, with a reason the skip reporter counts; under CI it runs
 * and fails instead (.ci/run installs the package).
 */
export const skipReason: string | undefined =
  existsSync(CHROMIUM) || process.env.CI === "true"
    ? undefined
    : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium)`;

export interface ConsoleHarness {
  server: TestServer;
  browser: Browser;
  /** The console's URL: `${server.url}/console/`. */
  url: string;
}

export interface ConsoleTest {
  h: ConsoleHarness;
  context: BrowserContext;
  page: Page;
  /** Opens the console signed in with `token` (the admin's by default) at `path` (#/users/...). */
  open(path?: string, token?: string): Promise<Page>;
  /** Runs Axe on the page as it is now: no serious or critical violation. */
  axe(label: string): Promise<void>;
}

let harness: ConsoleHarness | undefined;

/** Starts the server and the browser for this file's tests, and stops both after them. */
export function useConsole(opts: StartOptions = {}): () => ConsoleHarness {
  before(async () => {
    if (skipReason) return;
    const server = await startTestServer(opts);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    harness = { server, browser, url: `${server.url}/console/` };
  });
  after(async () => {
    await harness?.browser.close();
    await harness?.server.close();
    harness = undefined;
  });
  return () => {
    assert.ok(harness, "useConsole() starts before the tests");
    return harness;
  };
}

export async function runAxe(page: Page, label: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `axe on ${label}`,
  );
}

/**
 * A test in its own browser context. Every hash the page goes to is checked by Axe once settled,
 * and a failure leaves a screenshot named after the test.
 */
export function consoleTest(name: string, fn: (t: ConsoleTest) => Promise<void>, opts: { timeout?: number } = {}) {
  test(name, { skip: skipReason, timeout: opts.timeout ?? 30_000 }, async () => {
    const h = harness!;
    const context = await h.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    const t: ConsoleTest = {
      h,
      context,
      page,
      open: async (path = "/users", token = h.server.adminToken) => {
        await page.addInitScript((tok) => sessionStorage.setItem("devusers.session", tok), token);
        await page.goto(`${h.url}#${path}`);
        await page.getByRole("button", { name: "Sign out" }).waitFor();
        return page;
      },
      axe: (label) => runAxe(page, label),
    };
    try {
      await fn(t);
      assert.deepEqual(pageErrors, [], "no uncaught error in the page");
    } catch (err) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page
        .screenshot({
          path: join(SCREENSHOTS, `${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.png`),
          fullPage: true,
        })
        .catch(() => {});
      throw err;
    } finally {
      await context.close();
    }
  });
}
