// The merge page: a preview computed from the two users, changing nothing, that matches what the
// merge then does; a conflicting issuer blocks it; all of it with the keyboard too.
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { Sdk } from "../helpers/server.js";
import { consoleTest, useConsole } from "./browser.js";
import { focusInDialog, makeUser, tabTo } from "./pages.js";

const harness = useConsole();
const T = { timeout: 60_000 };

/** One of the preview's lists, as `issuer/id` strings. */
async function list(page: Page, name: "moves" | "conflicts" | "kept"): Promise<string[]> {
  return page
    .locator(`section[data-list="${name}"] li`)
    .evaluateAll((lis) => lis.map((li) => (li.textContent ?? "").replace(": ", "/")));
}

async function identitiesOf(admin: Sdk, id: string): Promise<string[]> {
  const { data } = await admin.devUsersGet({ id });
  return (data.dev_user.external_identities ?? []).map((i) => `${i.issuer}/${i.id}`).sort();
}

consoleTest(
  "previews a merge without changing anything, blocks a conflict, and merges as previewed",
  async (t) => {
    const admin = t.h.server.sdk();
    const primary = await makeUser(admin, "primary", [{ issuer: "okta", id: "p-1" }]);
    const clash = await makeUser(admin, "clash", [{ issuer: "okta", id: "c-1" }]);
    const secondary = await makeUser(admin, "secondary", [
      { issuer: "github", id: "s-1" },
      { issuer: "google", id: "s-2" },
    ]);
    const page = await t.open(`/users/${primary.displayId}/merge`);
    await page.getByRole("heading", { level: 1, name: /Merge into/ }).waitFor();
    await t.axe("the merge page");

    await page.getByLabel("Secondary user (email or DEVU id)").fill(clash.displayId);
    await page.getByRole("button", { name: "Preview" }).click();
    await page.getByRole("heading", { name: new RegExp(`Preview: ${clash.displayId}`) }).waitFor();
    assert.deepEqual(await list(page, "conflicts"), ["okta/c-1"]);
    assert.deepEqual(await list(page, "moves"), []);
    await page.getByRole("alert").getByText("The merge is blocked").waitFor();
    assert.equal(await page.getByRole("button", { name: "Merge", exact: true }).isDisabled(), true);
    await t.axe("a blocked merge's preview");

    await page.getByLabel("Secondary user (email or DEVU id)").fill(secondary.email);
    await page.getByRole("button", { name: "Preview" }).click();
    await page.getByRole("heading", { name: new RegExp(`Preview: ${secondary.displayId}`) }).waitFor();
    const moves = await list(page, "moves");
    const kept = await list(page, "kept");
    assert.deepEqual(moves.sort(), ["github/s-1", "google/s-2"]);
    assert.deepEqual(kept, ["okta/p-1"]);
    assert.deepEqual(await list(page, "conflicts"), []);
    // Previewing wrote nothing.
    assert.deepEqual(await identitiesOf(admin, secondary.id), ["github/s-1", "google/s-2"]);
    assert.deepEqual(await identitiesOf(admin, primary.id), ["okta/p-1"]);

    await page.getByRole("button", { name: "Merge", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await t.axe("the merge confirmation");
    await dialog.getByRole("button", { name: `Merge ${secondary.displayId} into ${primary.displayId}` }).click();
    await page.getByRole("heading", { level: 1, name: new RegExp(primary.displayId) }).waitFor();
    await page.getByRole("cell", { name: "github", exact: true }).waitFor();
    await t.axe("the primary after the merge");
    assert.deepEqual(await identitiesOf(admin, primary.id), [...kept, ...moves].sort());
    assert.deepEqual(await identitiesOf(admin, secondary.id), []);
    assert.equal((await admin.devUsersGet({ id: secondary.id })).data.dev_user.state, "deactivated");
  },
  T,
);

consoleTest(
  "merges with the keyboard only",
  async (t) => {
    const admin = t.h.server.sdk();
    const primary = await makeUser(admin, "kprimary");
    const secondary = await makeUser(admin, "ksecondary", [{ issuer: "okta", id: "k-9" }]);
    const page = await t.open(`/users/${primary.displayId}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    await tabTo(page, "Merge another user into this one");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: /Merge into/ }).waitFor();
    await tabTo(page, "Secondary user (email or DEVU id)");
    await page.keyboard.type(secondary.displayId);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: new RegExp(`Preview: ${secondary.displayId}`) }).waitFor();
    await t.axe("a merge preview reached by keyboard");
    await tabTo(page, "Merge");
    await page.keyboard.press("Space");
    await focusInDialog(page);
    const confirm = page.getByRole("dialog").getByRole("button", { name: /^Merge DEVU/ });
    await confirm.waitFor();
    await page.keyboard.press("Escape");
    await confirm.waitFor({ state: "detached" });
    assert.deepEqual(await identitiesOf(admin, primary.id), [], "Escape merged nothing");

    await tabTo(page, "Merge");
    await page.keyboard.press("Enter");
    await focusInDialog(page);
    await tabTo(page, /^Merge DEVU/, 5);
    await page.keyboard.press("Enter");
    await page.getByRole("cell", { name: "okta", exact: true }).waitFor();
    assert.deepEqual(await identitiesOf(admin, primary.id), ["okta/k-9"]);
    assert.ok(harness().server);
  },
  T,
);
