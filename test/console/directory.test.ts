// The directory page: search by a name or email prefix, filter by state, look up by issuer + id or
// by id, sort, and page with the API's cursors, one API page per screen.
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { SHADOW } from "../helpers/server.js";
import { consoleTest, useConsole } from "./browser.js";

const harness = useConsole();
const T = { timeout: 60_000 };

/** The Email column of the table shown, top to bottom. */
const emails = (page: Page) =>
  page.locator("table.users tbody tr td:nth-child(4)").evaluateAll((tds) => tds.map((td) => td.textContent ?? ""));

/** The list calls the page makes while `fn` runs. */
async function listCalls(page: Page, fn: () => Promise<void>): Promise<number> {
  let n = 0;
  const on = (req: { url(): string }) => {
    if (req.url().endsWith("/dev-users.list")) n++;
  };
  page.on("request", on);
  try {
    await fn();
  } finally {
    page.off("request", on);
  }
  return n;
}

let seeded = false;
async function seed(): Promise<void> {
  if (seeded) return;
  seeded = true;
  const sdk = harness().server.sdk();
  for (let i = 1; i <= 30; i++) {
    const { data } = await sdk.devUsersCreate({
      email: `dir${String(i).padStart(2, "0")}@example.com`,
      full_name: i === 7 ? "Grace Hopper" : `Person ${i}`,
      state: SHADOW,
    });
    if (i === 7) await sdk.devUsersIdentitiesLink({ dev_user: data.dev_user.id, issuer: "github", id: "grace" });
    if (i % 10 === 0) await sdk.devUsersActivate({ id: data.dev_user.id });
  }
}

consoleTest(
  "searches by a name or an email prefix, filters by state, and looks up by issuer + id or by id",
  async (t) => {
    await seed();
    const page = await t.open("/users");
    await page.getByRole("cell", { name: "dir01@example.com" }).waitFor();
    const search = async () => {
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByRole("button", { name: "Search" }).isEnabled();
    };

    await page.getByLabel("Name, email or id (DEVU-12)").fill("grace");
    assert.equal(await listCalls(page, search), 1);
    await page.getByRole("cell", { name: "Grace Hopper" }).waitFor();
    assert.deepEqual(await emails(page), ["dir07@example.com"]);

    await page.getByLabel("Name, email or id (DEVU-12)").fill("DIR2");
    await search();
    await page.getByRole("cell", { name: "dir29@example.com" }).waitFor();
    assert.equal((await emails(page)).length, 10, "dir20..dir29, case-insensitively");
    await t.axe("the directory after a search");

    await page.getByLabel("State").selectOption("active");
    await search();
    await page.waitForFunction(() => document.querySelectorAll("table.users tbody tr").length === 1);
    assert.deepEqual(await emails(page), ["dir20@example.com"]);

    await page.getByLabel("Name, email or id (DEVU-12)").fill("");
    await page.getByLabel("State").selectOption("");
    await page.getByLabel("Identity issuer").fill("github");
    await page.getByLabel("Identity id").fill("grace");
    await search();
    await page.waitForFunction(() => document.querySelectorAll("table.users tbody tr").length === 1);
    assert.deepEqual(await emails(page), ["dir07@example.com"]);

    await page.getByLabel("Identity issuer").fill("");
    await page.getByLabel("Identity id").fill("");
    await page.getByLabel("Name, email or id (DEVU-12)").fill("devu-3");
    await search();
    await page.waitForFunction(() => document.querySelectorAll("table.users tbody tr").length === 1);
    assert.deepEqual(await emails(page), ["dir02@example.com"], "DEVU-3 is the second user made here");

    await page.getByLabel("Name, email or id (DEVU-12)").fill("nobody-by-that-name");
    await search();
    await page.getByRole("status").filter({ hasText: "No user matches." }).waitFor();
  },
  T,
);

consoleTest(
  "sorts, and pages forwards and back one API page at a time",
  async (t) => {
    await seed();
    const page = await t.open("/users");
    await page.getByRole("cell", { name: "dir01@example.com" }).waitFor();
    await page.getByLabel("Sort").selectOption("email:asc");
    await page.getByLabel("Name, email or id (DEVU-12)").fill("dir");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForFunction(
      () => document.querySelector("table.users tbody tr td:nth-child(4)")?.textContent === "dir01@example.com",
    );
    const first = await emails(page);
    assert.equal(first.length, 25, "25 a page");
    assert.deepEqual(first, [...first].sort());

    const next = page.getByRole("button", { name: "Next page" });
    assert.equal(
      await listCalls(page, async () => {
        await next.click();
        await page.getByRole("cell", { name: "dir30@example.com" }).waitFor();
      }),
      1,
      "a page is one API call",
    );
    assert.deepEqual(await emails(page), [
      "dir26@example.com",
      "dir27@example.com",
      "dir28@example.com",
      "dir29@example.com",
      "dir30@example.com",
    ]);
    assert.ok(await next.isDisabled(), "no page after the last");
    await page.getByRole("button", { name: "Previous page" }).click();
    await page.getByRole("cell", { name: "dir01@example.com" }).waitFor();
    assert.deepEqual(await emails(page), first);

    await page.getByLabel("Sort").selectOption("email:asc");
    await page.getByLabel("Sort").selectOption("display_name:desc");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForFunction(
      () => document.querySelector("table.users tbody tr td:nth-child(4)")?.textContent === "dir30@example.com",
    );
    await t.axe("the directory sorted and paged");
  },
  T,
);
