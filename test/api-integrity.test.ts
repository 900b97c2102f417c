// Invariants a directory must keep whoever calls it: no reporting loops, always an admin, dates
// that sort, and API writes that survive the CLI writing to the same SQLite file.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { testDialects } from "./helpers/databases.js";
import { assertError, type Sdk, SHADOW, startTestServer, type TestServer } from "./helpers/server.js";

const run = promisify(execFile);
const BIN = new URL("../../bin/devusers.js", import.meta.url).pathname;

for (const { dialect, skip } of await testDialects())
  describe(`integrity [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let admin: Sdk;
    const create = async (email: string) =>
      (await admin.devUsersCreate({ email, state: SHADOW })).data.dev_user.id as string;
    const get = async (id: string) => (await s.http("POST", "/dev-users.get", { body: { id } })).body.dev_user;

    before(async () => {
      s = await startTestServer({ dialect });
      admin = s.sdk();
    });
    after(() => s.close());

    it("refuses a merge that would close a reporting loop, and changes nothing", async () => {
      const [p, a, sec] = [await create("p@loop.test"), await create("a@loop.test"), await create("s@loop.test")];
      await admin.devUsersUpdate({ id: a, reports_to: sec });
      await admin.devUsersUpdate({ id: p, reports_to: a });
      const res = await s.http("POST", "/dev-users.merge", { body: { primary_user: p, secondary_user: sec } });
      assertError(res, 400, "value_not_permitted", { field_name: "secondary_user" });
      assert.equal((await get(a)).reports_to.id, sec, "a still reports to the secondary");
      assert.equal((await get(sec)).state, "shadow", "the secondary was not deactivated");
    });

    it("keeps one active admin: no self-deactivation, merge or demotion of the last one", async () => {
      const self = (await s.http("GET", "/dev-users.self")).body.dev_user.id;
      assertError(await s.http("POST", "/dev-users.deactivate", { body: { id: self } }), 400, "value_not_permitted");
      const other = await create("other@admin.test");
      const merged = await s.http("POST", "/dev-users.merge", { body: { primary_user: other, secondary_user: self } });
      assertError(merged, 400, "value_not_permitted", { field_name: "secondary_user" });
      await assert.rejects(s.setRole("admin@example.com", "member"), /last active admin/);
      assert.equal((await s.http("GET", "/dev-users.self")).status, 200, "the admin still works");

      // With a second active admin, the first may step down, or be deactivated. (Deactivation ends
      // its tokens for good, so that is shown on a third admin, keeping the harness's token.)
      const second = await s.user("second@admin.test", "admin");
      await s.setRole("admin@example.com", "member");
      await s.setRole("admin@example.com", "admin");
      const third = await s.user("third@admin.test", "admin");
      const thirdId = third.id;
      assert.equal(
        (await s.http("POST", "/dev-users.deactivate", { body: { id: thirdId }, token: third.token })).status,
        200,
      );
      assert.equal(
        (await s.http("POST", "/dev-users.activate", { body: { id: thirdId }, token: second.token })).status,
        200,
      );
    });

    it("reads dates strictly and keeps them sortable", async () => {
      const id = await create("dates@x.test");
      for (const bad of [
        "1",
        "2026-13-01",
        "2026-02-30",
        "2026-04-31T00:00Z",
        "2026-01-01T24:00Z",
        "2026-01-01T10:60Z",
        "2026-01-01T10:00",
        "+010000-01-01T00:00:00Z",
        "yesterday",
      ]) {
        const res = await s.http("POST", "/dev-users.update", { body: { id, experience_start_date: bad } });
        assertError(res, 400, "value_not_permitted", { field_name: "experience_start_date" });
        const list = await s.http("POST", "/dev-users.list", {
          body: { created_date: { type: "range", after: bad } },
        });
        assertError(list, 400, "value_not_permitted", { field_name: "created_date.after" });
      }
      const ok = await s.http("POST", "/dev-users.update", {
        body: { id, experience_start_date: "2020-02-03T04:05:06+02:00" },
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.dev_user.experience_start_date, "2020-02-03T02:05:06.000Z");
      const day = await s.http("POST", "/dev-users.update", { body: { id, experience_start_date: "2021-06-01" } });
      assert.equal(day.body.dev_user.experience_start_date, "2021-06-01T00:00:00.000Z");
    });

    it("merge racing unlinks: no 5xx", async () => {
      for (let round = 0; round < 15; round++) {
        const p = await create(`pu${round}@race.test`);
        const sec = await create(`su${round}@race.test`);
        await admin.devUsersIdentitiesLink({ dev_user: sec, issuer: "slack", id: `SU${round}` });
        const [merge, unlink] = await Promise.all([
          s.http("POST", "/dev-users.merge", { body: { primary_user: p, secondary_user: sec } }),
          s.http("POST", "/dev-users.identities.unlink", { body: { dev_user: sec, issuer: "slack" } }),
        ]);
        assert.equal(merge.status, 200, merge.text);
        // Unlink first: it succeeds. Merge first: the identity has moved to the primary, so the
        // secondary holds none from that issuer any more.
        assert.ok(unlink.status === 200 || unlink.status === 404, `${unlink.status} ${unlink.text}`);
        const onPrimary = (await get(p)).external_identities.length;
        assert.equal(onPrimary, unlink.status === 200 ? 0 : 1);
      }
    });

    it("merge racing links: no 5xx, and the outcome is one of the serial orders", async () => {
      for (let round = 0; round < 15; round++) {
        const p = await create(`p${round}@race.test`);
        const sec = await create(`s${round}@race.test`);
        await admin.devUsersIdentitiesLink({ dev_user: sec, issuer: "slack", id: `S${round}` });
        const [merge, toSecondary, toPrimary] = await Promise.all([
          s.http("POST", "/dev-users.merge", { body: { primary_user: p, secondary_user: sec } }),
          s.http("POST", "/dev-users.identities.link", { body: { dev_user: sec, issuer: "github", id: `G${round}` } }),
          s.http("POST", "/dev-users.identities.link", { body: { dev_user: p, issuer: "gitlab", id: `L${round}` } }),
        ]);
        for (const r of [merge, toSecondary, toPrimary]) assert.ok(r.status < 500, `${r.status} ${r.text}`);
        assert.equal(merge.status, 200, merge.text);
        assert.equal(toPrimary.status, 200, toPrimary.text);
        assert.equal(toSecondary.status, 200, toSecondary.text);
        // Serialisable outcomes only: the link to the secondary ran either before the merge (and
        // moved with it) or after it (onto the now deactivated user); the merge never misses it.
        const left = (await get(sec)).external_identities.map((i: { issuer: string }) => i.issuer);
        const moved = (await get(p)).external_identities.map((i: { issuer: string }) => i.issuer).sort();
        if (left.length === 0) assert.deepEqual(moved, ["github", "gitlab", "slack"]);
        else {
          assert.deepEqual(left, ["github"]);
          assert.deepEqual(moved, ["gitlab", "slack"]);
        }
      }
    });

    if (dialect === "sqlite") {
      it("API writes keep succeeding while the CLI writes to the same file", async () => {
        const ids = await Promise.all([1, 2, 3, 4].map((i) => create(`busy${i}@cli.test`)));
        await s.user("cli@cli.test", "member");
        let stop = false;
        const statuses: number[] = [];
        const writer = async (id: string) => {
          for (let k = 0; !stop; k++) {
            const res = await s.http("POST", "/dev-users.update", { body: { id, full_name: `n${k}` } });
            statuses.push(res.status);
          }
        };
        const writers = ids.map(writer);
        const env = { ...process.env, DATABASE_URL: s.databaseUrl };
        for (let i = 0; i < 6; i++) {
          const role = i % 2 === 0 ? "admin" : "member";
          await run(process.execPath, [BIN, "role", "set", "--email", "cli@cli.test", "--role", role], { env });
        }
        stop = true;
        await Promise.all(writers);
        assert.ok(statuses.length > 20, `only ${statuses.length} writes ran`);
        assert.deepEqual(
          statuses.filter((c) => c !== 200),
          [],
          "every API write succeeded while the CLI wrote",
        );
      });
    }
  });
