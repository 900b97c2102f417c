// The user page: fields as text, identities (link, with a taken identity naming its owner;
// unlink after a confirmation), activate and deactivate, the role, and the history newest first;
// members read only, and refused by the service if they try; a failed write changes nothing shown.
import assert from "node:assert/strict";
import { consoleTest, useConsole } from "./browser.js";
import { focusInDialog, makeUser, tabTo, timeline } from "./pages.js";

const harness = useConsole();
const T = { timeout: 60_000 };

consoleTest(
  "links an identity, and a taken one names its owner or says it is already this user's",
  async (t) => {
    const admin = t.h.server.sdk();
    const owner = await makeUser(admin, "owner", [{ issuer: "okta", id: "taken-1" }]);
    const user = await makeUser(admin, "linker", [{ issuer: "github", id: "gh-1" }]);
    const page = await t.open(`/users/${user.displayId}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    await t.axe("the user page");

    await page.getByRole("button", { name: "Link identity" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Issuer").fill("google");
    await dialog.getByLabel("Id", { exact: true }).fill("g-42");
    await t.axe("the link dialog");
    await dialog.getByRole("button", { name: "Link", exact: true }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.getByRole("cell", { name: "google", exact: true }).waitFor();
    const after = await admin.devUsersGet({ id: user.id });
    assert.deepEqual(after.data.dev_user.external_identities?.map((i) => `${i.issuer}/${i.id}`).sort(), [
      "github/gh-1",
      "google/g-42",
    ]);
    // Each id in the table copies as it is.
    await t.context.grantPermissions(["clipboard-read", "clipboard-write"]);
    const copy = page.getByRole("button", { name: "Copy the id from google" });
    await copy.click();
    await copy.filter({ hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "g-42");

    await page.getByRole("button", { name: "Link identity" }).click();
    await dialog.getByLabel("Issuer").fill("okta");
    await dialog.getByLabel("Id", { exact: true }).fill("taken-1");
    await dialog.getByRole("button", { name: "Link", exact: true }).click();
    const alert = dialog.getByRole("alert");
    await alert.getByRole("link", { name: owner.displayId }).waitFor();
    assert.match((await alert.textContent()) ?? "", /already linked to another user/);
    await t.axe("the link dialog naming the owner");

    await dialog.getByLabel("Issuer").fill("github");
    await dialog.getByLabel("Id", { exact: true }).fill("gh-1");
    await dialog.getByRole("button", { name: "Link", exact: true }).click();
    await alert.getByText("already linked to this user").waitFor();

    await alert
      .getByRole("link", { name: /DEVU/ })
      .count()
      .then((c) => assert.equal(c, 0));
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await dialog.getByLabel("Issuer").waitFor({ state: "detached" });
  },
  T,
);

consoleTest(
  "unlinks an identity only after a confirmation",
  async (t) => {
    const admin = t.h.server.sdk();
    const user = await makeUser(admin, "unlinker", [
      { issuer: "okta", id: "u-1" },
      { issuer: "github", id: "u-2" },
    ]);
    const page = await t.open(`/users/${user.displayId}`);
    await page.getByRole("button", { name: "Unlink okta" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText("Unlink this identity?").waitFor();
    await t.axe("the unlink confirmation");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal((await admin.devUsersGet({ id: user.id })).data.dev_user.external_identities?.length, 2);

    await page.getByRole("button", { name: "Unlink okta" }).click();
    await dialog.getByRole("button", { name: "Unlink", exact: true }).click();
    await page.getByRole("button", { name: "Unlink okta" }).waitFor({ state: "detached" });
    const idents = (await admin.devUsersGet({ id: user.id })).data.dev_user.external_identities ?? [];
    assert.deepEqual(
      idents.map((i) => i.issuer),
      ["github"],
    );
  },
  T,
);

consoleTest(
  "activates and deactivates a user, after a confirmation to deactivate",
  async (t) => {
    const admin = t.h.server.sdk();
    const user = await makeUser(admin, "toggle");
    const page = await t.open(`/users/${user.displayId}`);
    const state = page.locator('dd[data-field="state"]');
    assert.equal(await state.textContent(), "shadow");
    await page.getByRole("button", { name: "Activate", exact: true }).click();
    await page.getByRole("button", { name: "Deactivate", exact: true }).waitFor();
    assert.equal(await state.textContent(), "active");
    assert.equal((await admin.devUsersGet({ id: user.id })).data.dev_user.state, "active");

    await page.getByRole("button", { name: "Deactivate", exact: true }).click();
    const dialog = page.getByRole("dialog");
    // Axe checks the confirmation once it is open, not the frame before.
    await dialog.getByRole("button", { name: "Deactivate", exact: true }).waitFor();
    await t.axe("the deactivate confirmation");
    await dialog.getByRole("button", { name: "Deactivate", exact: true }).click();
    await page.getByRole("button", { name: "Activate", exact: true }).waitFor();
    assert.equal(await state.textContent(), "deactivated");
    assert.equal((await admin.devUsersGet({ id: user.id })).data.dev_user.state, "deactivated");
  },
  T,
);

consoleTest(
  "changes a user's role through dev-users.update",
  async (t) => {
    const { server } = t.h;
    const member = await server.user(`role-${process.pid}@example.com`, "member");
    const shown = (await server.sdk().devUsersGet({ id: member.id })).data.dev_user.display_id;
    const page = await t.open(`/users/${shown}`);
    const role = page.locator('dd[data-field="role"]');
    assert.equal(await role.textContent(), "member");
    await page.getByLabel("Role", { exact: true }).selectOption("admin");
    await page.getByRole("button", { name: "Change role" }).click();
    await page.getByText("The role is now admin.").waitFor();
    await t.axe("the user page after a role change");
    assert.equal(await role.textContent(), "admin");
    const self = await server.http("POST", "/dev-users.self", { token: member.token, body: {} });
    assert.equal(self.body.dev_user.role, "admin");
  },
  T,
);

consoleTest(
  "an admin who demotes themselves loses the write actions at once",
  async (t) => {
    const { server } = t.h;
    const second = await server.user(`self-demote-${process.pid}@example.com`, "admin");
    const shown = (await server.sdk().devUsersGet({ id: second.id })).data.dev_user.display_id;
    const page = await t.open(`/users/${shown}`, second.token);
    await page.getByText("(admin)").waitFor();
    await page.getByLabel("Role", { exact: true }).selectOption("member");
    await page.getByRole("button", { name: "Change role" }).click();
    await page.getByText("(member, read-only)").waitFor();
    await page.getByRole("button", { name: "Change role" }).waitFor({ state: "detached" });
    assert.equal(await page.getByRole("button", { name: "Link identity" }).count(), 0);
  },
  T,
);

consoleTest(
  "shows the user's history newest first",
  async (t) => {
    const admin = t.h.server.sdk();
    const user = await makeUser(admin, "history", [{ issuer: "okta", id: "h-1" }]);
    await admin.devUsersIdentitiesUnlink({ dev_user: user.id, issuer: "okta" });
    await admin.devUsersActivate({ id: user.id });
    const page = await t.open(`/users/${user.displayId}`);
    await page.locator("ol.timeline > li").first().waitFor();
    await t.axe("a user page with its history");
    const items = await timeline(page);
    assert.deepEqual(
      items.map((i) => i.op),
      ["dev_users.activate", "dev_users.identities.unlink", "dev_users.identities.link", "dev_users.create"],
    );
    const seqs = items.map((i) => i.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
    );
    // A write from the page shows up at the top.
    await page.getByRole("button", { name: "Deactivate", exact: true }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Deactivate", exact: true }).click();
    await page.locator("ol.timeline > li .op", { hasText: "dev_users.deactivate" }).waitFor();
    assert.equal((await timeline(page))[0]?.op, "dev_users.deactivate");
  },
  T,
);

consoleTest(
  "links and unlinks with the keyboard only",
  async (t) => {
    const admin = t.h.server.sdk();
    const user = await makeUser(admin, "keys");
    const page = await t.open(`/users/${user.displayId}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    await tabTo(page, "Link identity");
    await page.keyboard.press("Enter");
    // The dialog takes focus on its first field.
    await focusInDialog(page);
    await tabTo(page, "Issuer", 1);
    await page.keyboard.type("gitlab");
    await page.keyboard.press("Tab");
    await page.keyboard.type("k-1");
    await page.keyboard.press("Enter");
    await page.getByRole("cell", { name: "gitlab", exact: true }).waitFor();
    await t.axe("the user page after a keyboard link");

    await tabTo(page, "Unlink gitlab");
    await page.keyboard.press("Space");
    await focusInDialog(page);
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Unlink", exact: true }).waitFor();
    await page.keyboard.press("Escape");
    await dialog.getByRole("button", { name: "Unlink", exact: true }).waitFor({ state: "detached" });
    assert.equal((await admin.devUsersGet({ id: user.id })).data.dev_user.external_identities?.length, 1);

    await tabTo(page, "Unlink gitlab");
    await page.keyboard.press("Enter");
    await focusInDialog(page);
    await tabTo(page, "Unlink", 5);
    await page.keyboard.press("Enter");
    await page.getByText("No identity is linked.").waitFor();
    assert.equal((await admin.devUsersGet({ id: user.id })).data.dev_user.external_identities?.length ?? 0, 0);
  },
  T,
);

const flat = (s: string) => s.replace(/\s+/g, " ").trim();

const SCRIPT = "<script>window.__x=1</script>";
const IMG = '"><img src=x onerror="window.__x=1">';

consoleTest(
  "shows markup in names and custom fields as text",
  async (t) => {
    const admin = t.h.server.sdk();
    const user = await makeUser(admin, "xss");
    await admin.devUsersUpdate({
      id: user.id,
      display_name: SCRIPT,
      full_name: IMG,
      custom_fields: { note: SCRIPT, other: IMG },
    });
    const page = await t.open(`/users/${user.displayId}`);
    await page.locator('dd[data-field="display_name"]', { hasText: SCRIPT }).waitFor();
    assert.equal(await page.locator('dd[data-field="full_name"]').textContent(), IMG);
    assert.equal(await page.locator('dd[data-custom="note"]').textContent(), SCRIPT);
    assert.equal(await page.locator('dd[data-custom="other"]').textContent(), IMG);
    await page.getByRole("heading", { level: 1, name: SCRIPT }).waitFor();
    assert.equal(await page.evaluate(() => (window as { __x?: unknown }).__x), undefined);
    assert.equal(await page.locator("main img").count(), 0, "no <img> was made");
    await t.axe("a user page with markup in its fields");
  },
  T,
);

consoleTest(
  "a member sees no write action, and the service refuses the member's writes",
  async (t) => {
    const { server } = t.h;
    const member = await server.user(`reader-${process.pid}@example.com`, "member");
    const target = await makeUser(server.sdk(), "target", [{ issuer: "okta", id: "m-1" }]);
    const page = await t.open(`/users/${target.displayId}`, member.token);
    await page.getByRole("cell", { name: "okta", exact: true }).waitFor();
    await t.axe("the user page for a member");
    for (const name of [/^Link/, /^Unlink/, /^Activate/, /^Deactivate/, /^Change role/]) {
      assert.equal(await page.getByRole("button", { name }).count(), 0, `no ${name} button`);
    }
    assert.equal(await page.getByRole("link", { name: /Merge/ }).count(), 0);
    await page.getByText("The history is shown to admins.").waitFor();
    const statuses = await page.evaluate(
      async ({ token, id }) => {
        const post = (op: string, body: object) =>
          fetch(`/${op}`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body: JSON.stringify(body),
          }).then((r) => r.status);
        return [
          await post("dev-users.activate", { id }),
          await post("dev-users.identities.link", { dev_user: id, issuer: "x", id: "y" }),
          await post("dev-users.update", { id, role: "admin" }),
        ];
      },
      { token: member.token, id: target.id },
    );
    assert.deepEqual(statuses, [403, 403, 403]);
    const still = (await server.sdk().devUsersGet({ id: target.id })).data.dev_user;
    assert.equal(still.state, "shadow");
    assert.equal(still.external_identities?.length, 1);
  },
  T,
);

consoleTest(
  "a failed write leaves the page as it was and says why in a sentence",
  async (t) => {
    const admin = t.h.server.sdk();
    await makeUser(admin, "holder", [{ issuer: "okta", id: "f-1" }]);
    const user = await makeUser(admin, "failing", [{ issuer: "github", id: "f-2" }]);
    await admin.devUsersActivate({ id: user.id });
    const page = await t.open(`/users/${user.displayId}`);
    await page.getByRole("cell", { name: "github", exact: true }).waitFor();
    await page.locator("ol.timeline > li").first().waitFor();
    const before = (await page.locator("main").textContent()) ?? "";

    await page.route("**/dev-users.deactivate", (route) =>
      route.fulfill({
        status: 503,
        contentType: "application/json",
        body: JSON.stringify({ type: "service_unavailable", message: "down" }),
      }),
    );
    await page.getByRole("button", { name: "Deactivate", exact: true }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Deactivate", exact: true }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    const said = (await alert.textContent()) ?? "";
    assert.match(said, /unavailable/);
    await t.axe("the user page showing a failed write");
    assert.doesNotMatch(said, /[{}"]/);
    assert.equal(await page.locator('dd[data-field="state"]').textContent(), "active");
    await page.getByRole("button", { name: "Deactivate", exact: true }).waitFor();
    assert.equal(
      flat(((await page.locator("main").textContent()) ?? "").replace(said, "")),
      flat(before),
      "only the error was added",
    );
    assert.ok(harness().server);
  },
  T,
);
