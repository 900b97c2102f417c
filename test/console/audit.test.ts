// The audit-log page: newest first, filters by actor, operation, object and dates narrowing the
// rows, paging, a refused filter leaving the rows as they were, and members kept out.
import assert from "node:assert/strict";
import { SHADOW } from "../helpers/server.js";
import { consoleTest, useConsole } from "./browser.js";

const harness = useConsole();
const SLOW = { timeout: 60_000 };

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

async function seqs(page: import("playwright-core").Page): Promise<number[]> {
  const cells = await page.locator("tbody tr td:first-child").allTextContents();
  return cells.map(Number);
}

consoleTest(
  "lists entries newest first, and each filter narrows the rows",
  async (t) => {
    const { page, h } = t;
    const admin = h.server.sdk();
    const a = (await admin.devUsersCreate({ email: "audit-a@example.com", state: SHADOW })).data.dev_user;
    await admin.devUsersCreate({ email: "audit-b@example.com", state: SHADOW });
    await admin.devUsersUpdate({ id: a.id, display_name: "Renamed" });
    await t.open("/audit");
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    await page.getByRole("cell", { name: "dev_users.update" }).first().waitFor();
    await t.axe("the audit log");
    const all = await seqs(page);
    assert.ok(all.length >= 3);
    assert.deepEqual(
      all,
      [...all].sort((x, y) => y - x),
      "newest first",
    );

    // The form is sent and the rows replaced once the answer is in and the button enabled again.
    const filter = async () => {
      const answered = page.waitForResponse((r) => r.url().endsWith("/audit-logs.list"));
      await page.getByRole("button", { name: "Filter" }).click();
      await answered;
      await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>(".filters button")?.disabled);
      return seqs(page);
    };

    await page.getByLabel("Object (DEVU-2)").fill(a.display_id ?? "");
    const aboutA = await filter();
    assert.ok(aboutA.length >= 2 && aboutA.length < all.length, "the object filter narrows");
    assert.equal(await page.getByRole("cell", { name: "audit-b", exact: false }).count(), 0);

    await page.getByLabel("Operation").selectOption("dev_users.update");
    const updates = await filter();
    assert.equal(updates.length, 1, "object and operation combine");
    await page.getByRole("cell", { name: "dev_users.update" }).waitFor();

    await page.getByLabel("Object (DEVU-2)").fill("");
    await page.getByLabel("Operation").selectOption("");
    await page.getByLabel("Actor (DEVU-1, cli, system)").fill("DEVU-1");
    const byAdmin = await filter();
    assert.ok(byAdmin.length >= 3 && byAdmin.length < all.length, "the actor filter narrows (the harness is system)");

    await page.getByLabel("From", { exact: true }).fill(day(1));
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByRole("status").filter({ hasText: "No entry matches." }).waitFor();
    await page.getByLabel("From", { exact: true }).fill(day(-1));
    await page.getByLabel("To", { exact: true }).fill(day(1));
    assert.deepEqual(await filter(), byAdmin, "a range around today keeps them all");
    assert.ok(harness().server);
  },
  SLOW,
);

consoleTest(
  "pages older and newer, and a refused filter says why and leaves the rows as they were",
  async (t) => {
    const { page, h } = t;
    const admin = h.server.sdk();
    for (let i = 0; i < 26; i++) await admin.devUsersCreate({ email: `page-${i}@example.com`, state: SHADOW });
    await t.open("/audit");
    await page.getByRole("cell", { name: "dev_users.create" }).first().waitFor();
    const first = await seqs(page);
    assert.equal(first.length, 25);
    await page.getByRole("button", { name: "Older" }).click();
    await page.waitForFunction((top) => document.querySelector("tbody td")?.textContent !== top, String(first[0]));
    const second = await seqs(page);
    assert.ok(second[0]! < first.at(-1)!, "the next page is older");
    await page.getByRole("button", { name: "Newer" }).click();
    await page.waitForFunction((top) => document.querySelector("tbody td")?.textContent === top, String(first[0]));
    assert.deepEqual(await seqs(page), first);

    await page.getByLabel("From", { exact: true }).fill(day(1));
    await page.getByLabel("To", { exact: true }).fill(day(-1));
    await page.getByRole("button", { name: "Filter" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.equal(await alert.textContent(), "To must not be before from.");
    await t.axe("a refused filter");
    assert.deepEqual(await seqs(page), first, "the rows are unchanged");
  },
  SLOW,
);

consoleTest(
  "a member has no audit log or webhooks in the navigation, and cannot open them",
  async (t) => {
    const { page, h } = t;
    const member = await h.server.user("reader@example.com");
    await t.open("/audit", member.token);
    await page.getByText("There is no such page.").waitFor();
    await t.axe("a member at the audit log");
    const nav = page.getByRole("navigation", { name: "Main" });
    assert.deepEqual(await nav.getByRole("link").allTextContents(), ["Directory", "Tokens"]);
    await page.goto(`${h.url}#/webhooks`);
    await page.getByText("There is no such page.").waitFor();
    const refused = await h.server.http("POST", "/audit-logs.list", { token: member.token, body: {} });
    assert.equal(refused.status, 403, "the server refuses them too");
  },
  SLOW,
);
