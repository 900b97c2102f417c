// dev-users.list's `search`, beyond DevRev's spec: a case-insensitive prefix of display_name,
// full_name or email, with every other filter, sort_by and cursors, in POST and GET.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import { type Sdk, SHADOW, startTestServer, type TestServer } from "./helpers/server.js";

const names = (users: { email?: string }[]) => users.map((u) => u.email).sort();

for (const { dialect, skip } of await testDialects())
  describe(`list search [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let admin: Sdk;
    const search = async (body: Record<string, unknown>) => {
      const res = await s.http("POST", "/dev-users.list", { body: { limit: 100, ...body } });
      assert.equal(res.status, 200, res.text);
      return res.body as { dev_users: any[]; next_cursor?: string; prev_cursor?: string };
    };
    const make = async (email: string, display_name: string, full_name: string) => {
      const u = (await admin.devUsersCreate({ email, state: SHADOW, full_name })).data.dev_user;
      await admin.devUsersUpdate({ id: u.id, display_name });
      return u;
    };

    before(async () => {
      s = await startTestServer({ dialect });
      admin = s.sdk();
      await make("lovelace@search.test", "Ada", "Augusta King");
      await make("smith@search.test", "asmith", "Adam Smith");
      await make("ADmin-z@search.test", "zed", "Zed");
      await make("bob.adams@search.test", "bob", "Robert Adams");
      await make("under@search.test", "a_b", "Under Score");
      await make("abc@search.test", "abc", "Plain");
      await make("eclair@search.test", "éclair", "Pâtissier");
      for (let i = 1; i <= 7; i++) {
        const u = await make(`pag-${i}@search.test`, `Pager ${i}`, `P${(i * 3) % 7}`);
        if (i % 3 !== 0) await admin.devUsersActivate({ id: u.id });
      }
    });
    after(() => s.close());

    it("matches a case-insensitive prefix of display_name, full_name or email, never the middle", async () => {
      assert.deepEqual(names((await search({ search: "ad" })).dev_users), [
        "ADmin-z@search.test",
        "admin@example.com",
        "lovelace@search.test",
        "smith@search.test",
      ]);
      assert.deepEqual(names((await search({ search: "AUGUSTA k" })).dev_users), ["lovelace@search.test"]);
      assert.deepEqual(names((await search({ search: "Lovelace@" })).dev_users), ["lovelace@search.test"]);
      assert.deepEqual(names((await search({ search: "adams" })).dev_users), [], "a word inside is no prefix");
      assert.deepEqual(names((await search({ search: "a_" })).dev_users), ["under@search.test"], "no wildcards");
      assert.deepEqual(names((await search({ search: "%" })).dev_users), []);
      assert.deepEqual(names((await search({ search: "éc" })).dev_users), ["eclair@search.test"]);
      assert.deepEqual(names((await search({ search: "pâ" })).dev_users), ["eclair@search.test"]);
      const all = (await search({})).dev_users.length;
      assert.equal((await search({ search: "\u{10ffff}" })).dev_users.length, 0);
      assert.ok(all > 14);
    });

    it("reads ?search= in GET as in POST, through the SDK's body too", async () => {
      const got = await s.http("GET", "/dev-users.list?search=AD&limit=100");
      assert.equal(got.status, 200, got.text);
      assert.deepEqual(names(got.body.dev_users), names((await search({ search: "ad" })).dev_users));
      const viaSdk = await admin.devUsersListPost({ search: "zed" } as never);
      assert.deepEqual(names(viaSdk.data.dev_users), ["ADmin-z@search.test"]);
    });

    it("combines with other filters", async () => {
      const body = {
        search: "pag",
        state: ["active"],
        email: ["PAG-1@search.test", "pag-3@search.test", "smith@search.test"],
      };
      assert.deepEqual(names((await search(body)).dev_users), ["pag-1@search.test"]);
    });

    it("pages with state, sort_by and cursors, forward and back, every match once", async () => {
      const expected = (await search({ search: "PAGER", state: ["active"], sort_by: ["full_name:desc"] })).dev_users;
      assert.equal(expected.length, 5);
      const fulls = expected.map((u) => u.full_name);
      assert.deepEqual(fulls, [...fulls].sort().reverse());
      const base = { search: "PAGER", state: ["active"], sort_by: ["full_name:desc"], limit: 2 };
      const pages: any[][] = [];
      let page = await search(base);
      assert.equal(page.prev_cursor, undefined);
      pages.push(page.dev_users);
      while (page.next_cursor) {
        page = await search({ ...base, cursor: page.next_cursor });
        pages.push(page.dev_users);
      }
      assert.deepEqual(
        pages.map((p) => p.length),
        [2, 2, 1],
      );
      assert.deepEqual(
        pages.flat().map((u) => u.id),
        expected.map((u) => u.id),
      );
      assert.ok(page.prev_cursor);
      const back = await search({ ...base, cursor: page.prev_cursor, mode: "before" });
      assert.deepEqual(
        back.dev_users.map((u) => u.id),
        pages[1]!.map((u) => u.id),
      );
      const query = `search=pager&state=active&sort_by=full_name:desc&limit=2&cursor=${encodeURIComponent(back.next_cursor!)}`;
      const got = await s.http("GET", `/dev-users.list?${query}`);
      assert.deepEqual(
        got.body.dev_users.map((u: any) => u.id),
        pages[2]!.map((u) => u.id),
      );
    });

    it("refuses an empty search and one over 256 characters, naming search", async () => {
      for (const res of [
        await s.http("POST", "/dev-users.list", { body: { search: "" } }),
        await s.http("GET", "/dev-users.list?search="),
        await s.http("POST", "/dev-users.list", { body: { search: "a".repeat(257) } }),
        await s.http("POST", "/dev-users.list", { body: { search: 5 } }),
      ]) {
        assert.equal(res.status, 400, res.text);
        assert.equal(res.body.field_name, "search", res.text);
      }
      assert.equal((await search({ search: "a".repeat(256) })).dev_users.length, 0);
    });
  });
