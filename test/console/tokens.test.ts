// The tokens page: my tokens, a new one with scopes shown once, revoking one (which then answers
// 401), a refused create that changes nothing, and the SCIM connections admins alone see.
import assert from "node:assert/strict";
import { consoleTest, useConsole } from "./browser.js";

const harness = useConsole();
const PAT = "urn:devrev:params:oauth:token-type:pat";
const SLOW = { timeout: 60_000 };

consoleTest(
  "makes a token with scopes, shown once: gone when the dialog closes and after a reload",
  async (t) => {
    const { page, h } = t;
    const user = await h.server.user("maker@example.com");
    await t.open("/tokens", user.token);
    await page.getByRole("heading", { name: "My tokens" }).waitFor();
    await t.axe("my tokens");
    await page.getByRole("button", { name: "New token" }).click();
    await page.getByLabel("Label").fill("ci");
    await page.getByLabel("Read the directory (directory:read)").check();
    assert.equal(await page.getByLabel(/webhooks:manage/).count(), 0, "a member is not offered admin-only scopes");
    await t.axe("the new-token dialog");
    await page.getByRole("button", { name: "Create token" }).click();
    const shown = page.getByRole("dialog", { name: "Your new token" });
    await shown.waitFor();
    const token = ((await shown.locator("code").textContent()) ?? "").trim();
    assert.match(token, /^eyJ/);
    await t.axe("the token shown once");
    const info = await h.server.http("POST", "/auth-tokens.info", { token, body: {} });
    assert.equal(info.status, 200);
    const denied = await h.server.http("POST", "/dev-users.create", { token, body: { email: "x@example.com" } });
    assert.equal(denied.status, 403, "the token holds only the scopes asked for");
    await shown.getByRole("button", { name: "Done" }).click();
    await shown.waitFor({ state: "hidden" });
    await page.getByRole("cell", { name: "directory:read" }).waitFor();
    assert.ok(!(await page.content()).includes(token), "the token is gone once the dialog closes");
    await page.reload();
    await page.getByRole("cell", { name: "ci", exact: true }).waitFor();
    assert.ok(!(await page.content()).includes(token), "and after a reload");
  },
  SLOW,
);

consoleTest(
  "revokes a token after a confirmation, and the token then answers 401",
  async (t) => {
    const { page, h } = t;
    const user = await h.server.user("revoker@example.com");
    const made = await user.sdk.authTokensCreate({ requested_token_type: PAT as never, token_hint: "old-ci" });
    const old = made.data.access_token;
    await t.open("/tokens", user.token);
    await page.getByRole("button", { name: "Revoke old-ci" }).click();
    const confirm = page.getByRole("dialog", { name: "Revoke the token?" });
    await confirm.waitFor();
    await t.axe("the revoke confirmation");
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "hidden" });
    assert.equal((await h.server.http("POST", "/auth-tokens.info", { token: old, body: {} })).status, 200);
    await page.getByRole("button", { name: "Revoke old-ci" }).click();
    await confirm.getByRole("button", { name: "Revoke", exact: true }).click();
    await page.getByText("old-ci was revoked").waitFor();
    assert.equal(await page.getByRole("button", { name: "Revoke old-ci" }).count(), 0);
    assert.equal((await h.server.http("POST", "/auth-tokens.info", { token: old, body: {} })).status, 401);
    assert.equal(await page.getByRole("cell", { name: "This session" }).count(), 1, "the session's own is marked");
  },
  SLOW,
);

consoleTest(
  "a refused create says why in a sentence and changes nothing",
  async (t) => {
    const { page, h } = t;
    const user = await h.server.user("narrow@example.com");
    // A session that may manage tokens but not write users cannot mint a token that does.
    const narrow = await user.sdk.authTokensCreate({
      requested_token_type: PAT as never,
      scope: "directory:read tokens:manage",
      token_hint: "narrow",
    });
    await t.open("/tokens", narrow.data.access_token);
    await page.getByRole("cell", { name: "narrow", exact: true }).waitFor();
    const rows = await page.getByRole("row").count();
    await page.getByRole("button", { name: "New token" }).click();
    await page.getByLabel("Change users (users:write)").check();
    await page.getByRole("button", { name: "Create token" }).click();
    const alert = page.getByRole("dialog", { name: "New token" }).getByRole("alert");
    await alert.waitFor();
    const text = (await alert.textContent()) ?? "";
    assert.match(text, /not allowed/);
    assert.doesNotMatch(text, /[{}"]/);
    await t.axe("a refused create");
    await page.getByRole("button", { name: "Cancel" }).click();
    assert.equal(await page.getByRole("row").count(), rows, "the list is unchanged");
    const listed = await h.server.http("POST", "/auth-tokens.list", { token: user.token, body: {} });
    assert.equal((listed.body as { tokens: unknown[] }).tokens.length, 2, "no token was made");
  },
  SLOW,
);

consoleTest(
  "admins connect, rotate and disable SCIM providers, the token shown once; members do not see them",
  async (t) => {
    const { page, h } = t;
    await t.open("/tokens");
    await page.getByRole("heading", { name: "SCIM connections" }).waitFor();
    await page.getByRole("button", { name: "New SCIM connection" }).click();
    await page.getByLabel("Issuer (for example okta)").fill("okta");
    await page.getByRole("button", { name: "Connect", exact: true }).click();
    const shown = page.getByRole("dialog", { name: "The SCIM token" });
    await shown.waitFor();
    const first = ((await shown.locator("code").textContent()) ?? "").trim();
    assert.match(first, /^devusers_scim_/);
    await t.axe("the SCIM token shown once");
    await shown.getByRole("button", { name: "Done" }).click();
    await shown.waitFor({ state: "hidden" });
    assert.ok(!(await page.content()).includes(first));
    const scim = (token: string) => h.server.http("GET", "/scim/v2/Users", { token });
    assert.equal((await scim(first)).status, 200);

    await page.getByRole("button", { name: "New token for okta" }).click();
    await shown.waitFor();
    const second = ((await shown.locator("code").textContent()) ?? "").trim();
    assert.notEqual(second, first);
    await shown.getByRole("button", { name: "Done" }).click();
    assert.equal((await scim(first)).status, 401, "the rotated-away token stops");
    assert.equal((await scim(second)).status, 200);

    await page.getByRole("button", { name: "Disable okta" }).click();
    await page.getByRole("cell", { name: "Disabled" }).waitFor();
    await t.axe("SCIM connections");
    assert.equal((await scim(second)).status, 403, "a disabled connection is refused");
    await page.reload();
    await page.getByRole("button", { name: "Enable okta" }).waitFor();
    assert.ok(!(await page.content()).includes(second));

    const member = await h.server.user("plain@example.com");
    const other = await t.context.newPage();
    await other.addInitScript((tok) => sessionStorage.setItem("devusers.session", tok), member.token);
    await other.goto(`${h.url}#/tokens`);
    await other.getByRole("heading", { name: "My tokens" }).waitFor();
    assert.equal(await other.getByRole("heading", { name: "SCIM connections" }).count(), 0);
    assert.ok(harness().server);
  },
  SLOW,
);
