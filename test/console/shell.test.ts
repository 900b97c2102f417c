// The console's foundation: served with strict headers, signing in with a pasted token, the
// directory's first page, and signing out revoking the session's token.
import assert from "node:assert/strict";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { issueToken } from "../../src/services/admin.js";
import { systemClock } from "../../src/services/context.js";
import { KeyRing } from "../../src/services/keys.js";
import { consoleTest, SCREENSHOTS, useConsole } from "./browser.js";

const harness = useConsole();

consoleTest("is served at /console/ with a strict Content-Security-Policy", async ({ h }) => {
  const res = await h.server.http("GET", "/console/", { token: null });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("referrer-policy"), "no-referrer");
  // No inline script, and nothing from another host.
  assert.doesNotMatch(res.text, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(res.text, /(src|href)="(https?:)?\/\//);
  const root = await h.server.http("GET", "/", { token: null });
  assert.equal(root.body.console, "/console/");
  const missing = await h.server.http("GET", "/console/assets/nothing.js", { token: null });
  assert.equal(missing.status, 404);
});

consoleTest("signs in with a pasted token, shows the directory, and signing out revokes the token", async (t) => {
  const { page, h } = t;
  const user = await h.server.user("paste@example.com", "admin");
  await page.goto(h.url);
  await t.axe("the sign-in page");
  await page.getByLabel("Token").fill(user.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Directory" }).waitFor();
  await page.getByRole("cell", { name: "paste@example.com" }).waitFor();
  await t.axe("the directory");
  assert.ok(!page.url().includes(user.token), "no token in the URL");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Token").waitFor();
  const after = await h.server.http("POST", "/auth-tokens.info", { token: user.token, body: {} });
  assert.equal(after.status, 401, "the signed-out token answers 401");
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, "nothing is kept in the tab");
});

consoleTest("a pasted token that is not valid is refused with a sentence, not JSON", async ({ page, h }) => {
  await page.goto(h.url);
  await page.getByLabel("Token").fill("not-a-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  const text = (await alert.textContent()) ?? "";
  assert.match(text, /Sign in again|not valid/);
  assert.doesNotMatch(text, /[{}"]/);
  assert.ok(harness().server);
});

consoleTest(
  "a sign-in link signs in once, leaves no token in the address bar, and fails the second time",
  async (t) => {
    const { page, h } = t;
    await h.server.user("link@example.com", "member");
    const onetime = await issueToken(
      { db: h.server.running.db, now: systemClock },
      new KeyRing(h.server.running.db.kysely),
      { email: "link@example.com", org: h.server.org, ttlSeconds: 600, type: "session:onetime" },
    );
    await page.goto(`${h.url}#signin=${onetime}`);
    await page.getByRole("heading", { name: "Directory" }).waitFor();
    assert.ok(!page.url().includes(onetime), "the link's token is gone from the address bar");
    assert.ok(!page.url().includes("signin="));
    const held = await page.evaluate(() => sessionStorage.getItem("devusers.session"));
    assert.ok(held && held !== onetime, "the tab holds a session token, not the link's");
    const me = await h.server.http("GET", "/dev-users.self", { token: held });
    assert.equal(me.body.dev_user.email, "link@example.com");

    const second = await t.context.newPage();
    await second.goto(`${h.url}#signin=${onetime}`);
    const alert = second.getByRole("alert");
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? "", /used already|Sign in again|not valid/i);
    assert.ok(!second.url().includes(onetime));
  },
);

consoleTest("the directory with a few people in it, captured for the README", async (t) => {
  const { h } = t;
  const people = [
    ["ada@example.com", "Ada Lovelace", "slack", "U0ADA"],
    ["grace@example.com", "Grace Hopper", "github", "grace"],
    ["alan@example.com", "Alan Turing", "okta", "00u1alan"],
    ["edsger@example.com", "Edsger Dijkstra", "jira", "edsger"],
  ] as const;
  const sdk = h.server.sdk();
  for (const [email, full_name, issuer, id] of people) {
    const made = (await sdk.devUsersCreate({ email, full_name, state: "shadow" as never })).data.dev_user;
    await sdk.devUsersIdentitiesLink({ dev_user: made.id, issuer, id });
  }
  const page = await t.open("/users");
  await page.getByRole("cell", { name: "edsger@example.com" }).waitFor();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, "readme-directory.png");
  await page.screenshot({ path });
  assert.ok(statSync(path).size > 10_000, "a screenshot with something in it");
});
