// What the user and merge pages' tests share: users made through the SDK, and keyboard-only
// moves (Tab until the focused element has a name, then a key), so no test clicks by accident.
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { type Sdk, SHADOW } from "../helpers/server.js";

let n = 0;

/** A fresh user with `identities`, made by the admin's SDK; its DON and display id. */
export async function makeUser(
  admin: Sdk,
  label: string,
  identities: { issuer: string; id: string }[] = [],
): Promise<{ id: string; displayId: string; email: string }> {
  const email = `${label}-${process.pid}-${++n}@example.com`;
  const { data } = await admin.devUsersCreate({ email, state: SHADOW });
  for (const ident of identities) {
    await admin.devUsersIdentitiesLink({ dev_user: data.dev_user.id, issuer: ident.issuer, id: ident.id });
  }
  return { id: data.dev_user.id, displayId: data.dev_user.display_id ?? "", email };
}

/** The accessible-ish name of the focused element: its label, aria-label or text. */
function focusedName(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return "";
    const labelled = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : undefined;
    return (el.getAttribute("aria-label") ?? labelled ?? el.textContent ?? "").trim();
  });
}

/**
 * Waits until an open dialog holds the focus: a dialog opens, and takes the focus, a frame after
 * the key that opened it, and keys pressed before that would land on the page behind it.
 */
export async function focusInDialog(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const open = document.querySelector("dialog[open]");
    return open?.contains(document.activeElement) === true;
  });
}

/** Presses Tab until the focused element's name matches `name`; fails after `max` presses. */
export async function tabTo(page: Page, name: string | RegExp, max = 60): Promise<void> {
  const want = (s: string) => (typeof name === "string" ? s === name : name.test(s));
  for (let i = 0; i < max; i++) {
    if (want(await focusedName(page))) return;
    await page.keyboard.press("Tab");
  }
  assert.fail(`no element named ${String(name)} within ${max} Tab presses (last: ${await focusedName(page)})`);
}

/** The text of every item of the page's history, in the order shown. */
export async function timeline(page: Page): Promise<{ seq: number; op: string }[]> {
  return page
    .locator("ol.timeline > li")
    .evaluateAll((lis) =>
      lis.map((li) => ({ seq: Number(li.getAttribute("data-seq")), op: li.querySelector(".op")?.textContent ?? "" })),
    );
}
