// devusers load and export through the CLI and the harness: a lossless round trip, a second load
// that changes nothing, and files refused whole, naming the record and field at fault.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadFixtures } from "../src/fixtures/load.js";
import { systemClock } from "../src/services/context.js";
import { testDialects } from "./helpers/databases.js";
import { runCli } from "./helpers/processes.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const dialects = await testDialects();

/** Every field of the format set, references forward and back, by display id and by email. */
export const FULL = [
  {
    display_id: "DEVU-1",
    email: "Ada@Acme.test",
    display_name: "ada",
    full_name: "Ada Lovelace",
    state: "active",
    role: "admin",
    job_title: "tech_lead",
    experience_start_date: "2015-06-01T00:00:00.000Z",
    timezone: "Europe/London",
    reports_to: "DEVU-7",
    created_by: "DEVU-1",
    modified_by: "grace@acme.test",
    created_date: "2026-01-05T09:00:00.000Z",
    modified_date: "2026-02-01T10:30:00.000Z",
    custom_fields: { team: "engines", level: 7, tags: ["a", "b"], nested: { on: true } },
    job_history: [
      {
        employment_status: "full_time",
        start_date: "2020-01-01T00:00:00.000Z",
        is_current: true,
        location: "London",
        title: "Lead",
      },
      {
        employment_status: "contractor",
        start_date: "2018-01-01T00:00:00.000Z",
        end_date: "2019-12-31T00:00:00.000Z",
        is_current: false,
        title: "Analyst",
      },
    ],
    availability_modes: ["available", "busy"],
    skills: [{ name: "math" }, { name: "engines" }],
    phone_numbers: ["+441234567", "+449876543"],
    external_identities: [
      { issuer: "slack", id: "U1", display_name: "ada", is_verified: true },
      { issuer: "github", id: "ada", is_verified: false },
    ],
  },
  {
    display_id: "DEVU-7",
    email: "grace@acme.test",
    display_name: "grace",
    full_name: "Grace Hopper",
    state: "deactivated",
    role: "member",
    job_title: "developer",
    timezone: "America/New_York",
    created_by: "DEVU-1",
    modified_by: "DEVU-1",
    created_date: "2026-01-06T09:00:00.000Z",
    modified_date: "2026-01-06T09:00:00.000Z",
    external_identities: [{ issuer: "slack", id: "U7", display_name: "Grace H", is_verified: true }],
  },
  {
    display_id: "DEVU-3",
    email: "alan@acme.test",
    state: "shadow",
    reports_to: "ada@acme.test",
    phone_numbers: ["+15550100"],
  },
];
const jsonl = (records: unknown[]) => records.map((r) => `${JSON.stringify(r)}\n`).join("");

for (const { dialect, skip } of dialects) {
  describe(`fixtures: load and export [${dialect}]`, { skip }, () => {
    let a: TestServer;
    let b: TestServer;
    let dir: string;
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const cli = (server: TestServer, args: string[]) => runCli(args, { DATABASE_URL: server.databaseUrl });
    const counts = async (server: TestServer) => {
      const db = server.running.db.kysely;
      const n = async (t: "dev_users" | "external_identities" | "dev_user_phone_numbers" | "orgs") =>
        Number(
          (
            await db
              .selectFrom(t)
              .select((eb) => eb.fn.countAll().as("n"))
              .executeTakeFirstOrThrow()
          ).n,
        );
      return {
        users: await n("dev_users"),
        identities: await n("external_identities"),
        phones: await n("dev_user_phone_numbers"),
        orgs: await n("orgs"),
      };
    };
    const load = (server: TestServer, org: string, fixtures: string | unknown[]) =>
      loadFixtures({ db: server.running.db, now: systemClock }, org, fixtures);

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "devusers-fixtures-"));
      [a, b] = await Promise.all([startTestServer({ dialect }), startTestServer({ dialect })]);
    });
    after(async () => {
      await Promise.all([a?.close(), b?.close()]);
      rmSync(dir, { recursive: true, force: true });
    });

    it("round-trips an org with every field set: export, load into an empty org, export again", async () => {
      const loaded = await cli(a, ["load", file("full.jsonl", jsonl(FULL)), "--org", "acme"]);
      assert.equal(loaded.code, 0, loaded.stderr);
      assert.match(loaded.stdout, /3 created, 0 unchanged/);
      const first = await cli(a, ["export", "--org", "acme"]);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout.split("\n").length, 4);
      const out = join(dir, "export.jsonl");
      assert.equal((await cli(a, ["export", "--org", "acme", "--out", out])).code, 0);
      const again = await cli(b, ["load", out, "--org", "acme"]);
      assert.equal(again.code, 0, again.stderr);
      const second = await cli(b, ["export", "--org", "acme"]);
      assert.equal(second.stdout, first.stdout);

      // The API of both shows the same users: ids, identities, references, dates.
      const list = async (s: TestServer) => {
        const token = await s.token("ada@acme.test", { org: "acme" });
        const res = await s.http("POST", "/dev-users.list", { body: { limit: 10 }, token });
        assert.equal(res.status, 200, res.text);
        return res.body.dev_users;
      };
      const users = await list(a);
      assert.deepEqual(await list(b), users);
      const ada = users.find((u: { display_id: string }) => u.display_id === "DEVU-1");
      assert.equal(ada.reports_to.display_id, "DEVU-7");
      assert.equal(ada.modified_by.display_id, "DEVU-7");
      assert.equal(ada.created_by.display_id, "DEVU-1");
      assert.equal(ada.modified_date, "2026-02-01T10:30:00.000Z");
      assert.deepEqual(
        ada.availability_modes.map((m: { id: number }) => m.id),
        [1, 2],
      );
      assert.deepEqual(
        ada.external_identities.map((i: { issuer: string }) => i.issuer),
        ["slack", "github"],
      );
      const alan = users.find((u: { display_id: string }) => u.display_id === "DEVU-3");
      assert.equal(alan.reports_to.display_id, "DEVU-1");
      // Phone numbers are filterable, so they are in the filter's table too.
      const ph = await a.http("POST", "/dev-users.list", {
        body: { phone_numbers: ["+15550100"] },
        token: await a.token("ada@acme.test", { org: "acme" }),
      });
      assert.deepEqual(
        ph.body.dev_users.map((u: { display_id: string }) => u.display_id),
        ["DEVU-3"],
      );
    });

    it("a second load of the same file changes nothing", async () => {
      const before = await cli(a, ["export", "--org", "acme"]);
      const rows = await counts(a);
      const res = await cli(a, ["load", join(dir, "full.jsonl"), "--org", "acme"]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /0 created, 3 unchanged/);
      assert.equal((await cli(a, ["export", "--org", "acme"])).stdout, before.stdout);
      assert.deepEqual(await counts(a), rows);
      // Records without dates or ids compare on what they give.
      assert.deepEqual((await load(a, "acme", [{ email: "alan@acme.test", state: "shadow" }])).unchanged, 1);
    });

    it("refuses a bad record with its line and field, and writes nothing", async () => {
      const good = { email: "ok@bad.test", display_id: "DEVU-1" };
      const cases: [unknown, RegExp][] = [
        [{ email: "not-an-email" }, /^FixtureError: line 2: email: must be an email address/],
        [{ email: "x@bad.test", state: "asleep" }, /^FixtureError: line 2: state: "asleep" is not one of/],
        [
          { email: "x@bad.test", job_history: [{ employment_status: "pirate" }] },
          /^FixtureError: line 2: job_history\[0\]\.employment_status/,
        ],
        [
          { email: "x@bad.test", created_date: "2026-02-30T00:00:00Z" },
          /^FixtureError: line 2: created_date: must be an ISO-8601/,
        ],
        [
          { email: "x@bad.test", full_name: "bad \ud800 half" },
          /^FixtureError: line 2: full_name: must be well-formed Unicode/,
        ],
        [
          { email: "x@bad.test", custom_fields: { big: "x".repeat(70_000) } },
          /^FixtureError: line 2: custom_fields: must be at most/,
        ],
        [
          {
            email: "x@bad.test",
            external_identities: [
              { issuer: "slack", id: "a" },
              { issuer: "slack", id: "b" },
            ],
          },
          /^FixtureError: line 2: external_identities\[1\]\.issuer: a user holds at most one identity per issuer/,
        ],
        [
          { email: "x@bad.test", external_identities: [{ issuer: " ", id: "a" }] },
          /^FixtureError: line 2: external_identities\[0\]\.issuer: must not be empty/,
        ],
        [
          { email: "x@bad.test", reports_to: "DEVU-99" },
          /^FixtureError: line 2: reports_to: no user DEVU-99 in org bad/,
        ],
        [
          { email: "x@bad.test", reports_to: "nobody@bad.test" },
          /^FixtureError: line 2: reports_to: no user nobody@bad.test/,
        ],
        [
          { email: "x@bad.test", display_id: "DEVU-2", reports_to: "DEVU-2" },
          /^FixtureError: line 2: reports_to: a dev user cannot report to itself/,
        ],
        [{ email: "x@bad.test", bogus: 1 }, /^FixtureError: line 2: bogus is not a field/],
      ];
      const rows = await counts(a);
      for (const [record, message] of cases) {
        const path = file("bad.jsonl", jsonl([good, record]));
        await assert.rejects(load(a, "bad", path), message, JSON.stringify(record).slice(0, 80));
        assert.deepEqual(await counts(a), rows);
      }
      // A cycle: 1 → 2 → 3 → 1, all in the file.
      const cycle = [
        { email: "c1@bad.test", display_id: "DEVU-1", reports_to: "DEVU-2" },
        { email: "c2@bad.test", display_id: "DEVU-2", reports_to: "DEVU-3" },
        { email: "c3@bad.test", display_id: "DEVU-3", reports_to: "DEVU-1" },
      ];
      await assert.rejects(
        load(a, "bad", file("cycle.jsonl", jsonl(cycle))),
        /^FixtureError: line [123]: reports_to: this would make a reporting cycle/,
      );
      const res = await cli(a, ["load", join(dir, "cycle.jsonl"), "--org", "bad"]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /devusers: line [123]: reports_to: this would make a reporting cycle/);
      assert.deepEqual(await counts(a), rows);
    });

    it("names both records of a conflict", async () => {
      const rows = await counts(a);
      const conflicts: [unknown[], RegExp][] = [
        // An existing user (the admin, made by the API) with other values.
        [
          [{ email: "admin@example.com", full_name: "Someone Else" }],
          /^FixtureError: item 1: admin@example.com already exists as DEVU-1 with another full_name; load adds users/,
        ],
        // Two records of one email that differ.
        [
          [{ email: "d@x.test" }, { email: "D@x.test", full_name: "Other" }],
          /^FixtureError: item 2: D@x.test already exists as DEVU-\d+ \(item 1\) with another/,
        ],
        // An identity held by another record of the file, and by an existing user.
        [
          [
            { email: "i1@x.test", external_identities: [{ issuer: "slack", id: "S1" }] },
            { email: "i2@x.test", external_identities: [{ issuer: "slack", id: "S1" }] },
          ],
          /^FixtureError: item 2: external_identities\[0\]: slack identity S1 already belongs to i1@x\.test \(DEVU-\d+ \(item 1\)\)/,
        ],
        // A number held by another email: an existing user, and another record.
        [
          [{ email: "n@x.test", display_id: "DEVU-1" }],
          /^FixtureError: item 1: display_id: DEVU-1 is already admin@example.com, not n@x.test/,
        ],
        [
          [
            { email: "n1@x.test", display_id: "DEVU-40" },
            { email: "n2@x.test", display_id: "DEVU-40" },
          ],
          /^FixtureError: item 2: display_id: DEVU-40 is also n1@x.test \(item 1\)/,
        ],
      ];
      for (const [records, message] of conflicts) {
        await assert.rejects(load(a, "default", records), message);
        assert.deepEqual(await counts(a), rows);
      }
      // Across batches, the first record is named by its line from the TEMP table.
      const many = Array.from({ length: 600 }, (_, i) => ({ email: `m${i}@x.test` }));
      many.push({ email: "m3@x.test", full_name: "changed" } as { email: string });
      await assert.rejects(
        load(a, "default", many),
        /^FixtureError: item 601: m3@x.test already exists as DEVU-\d+ \(item 4\) with another full_name/,
      );
      const owned = [{ email: "o@x.test", external_identities: [{ issuer: "slack", id: "U1" }] }];
      await assert.rejects(load(a, "acme", owned), /already belongs to Ada@Acme.test \(DEVU-1\)/);
      assert.deepEqual(await counts(a), rows);
    });

    it("loads JSON, YAML and JSONL, with or without display ids", async () => {
      const json = file(
        "u.json",
        JSON.stringify({ dev_users: [{ email: "j@f.test", display_id: "DEVU-5" }, { email: "k@f.test" }] }),
      );
      const yaml = file("u.yaml", "- email: y@f.test\n  full_name: Yaml User\n  reports_to: j@f.test\n");
      const docs = file("docs.yml", "email: d1@f.test\n---\nemail: d2@f.test\n");
      const lines = file("u.jsonl", `${JSON.stringify({ email: "l@f.test" })}\n\n`);
      for (const path of [json, yaml, docs, lines]) {
        const r = await cli(a, ["load", path, "--org", "formats"]);
        assert.equal(r.code, 0, `${path}: ${r.stderr}`);
      }
      const r = await cli(a, ["load", lines, "--org", "formats", "--format", "json"]);
      assert.equal(r.code, 1);
      const out = await cli(a, ["export", "--org", "formats"]);
      const ids = out.stdout
        .trim()
        .split("\n")
        .map((l) => [JSON.parse(l).display_id, JSON.parse(l).email]);
      // Numbers given are kept; the others come after the largest one given.
      assert.deepEqual(ids, [
        ["DEVU-5", "j@f.test"],
        ["DEVU-6", "k@f.test"],
        ["DEVU-7", "y@f.test"],
        ["DEVU-8", "d1@f.test"],
        ["DEVU-9", "d2@f.test"],
        ["DEVU-10", "l@f.test"],
      ]);
      // Plain progress lines when stderr is not a terminal, no `\r` frames; seed too.
      assert.doesNotMatch(r.stderr + (await cli(a, ["load", lines, "--org", "formats"])).stderr, /\r/);
      const seeded = await cli(a, ["seed", "--users", "20", "--org", "seeded"]);
      assert.equal(seeded.code, 0, seeded.stderr);
      assert.doesNotMatch(seeded.stderr, /\r/);
      assert.match(seeded.stderr, /^seed: 100% 20\/20 users/m);
    });
  });
}
