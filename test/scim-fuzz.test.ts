// Generated bad input under /scim/v2, on both databases: thousands of malformed filters and PATCH
// bodies, and POST and PUT bodies of long 4-byte strings, never answered with a 5xx; the PATCH ones
// leave Object.prototype untouched.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import {
  assertScimError,
  connect,
  ENTERPRISE,
  filter,
  oktaUser,
  PATCH_OP,
  type Scim,
  scimClient,
} from "./helpers/scim.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

/** A small deterministic generator, so a failure names a case that can be run again. */
function random(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick };
}

const FILTER_PARTS = [
  "userName",
  "externalId",
  "id",
  "emails",
  "emails.value",
  "name.givenName",
  "active",
  "meta.created",
  "urn:ietf:params:scim:schemas:core:2.0:User:userName",
  "eq",
  "ne",
  "co",
  "sw",
  "pr",
  "gt",
  "and",
  "or",
  "not",
  "(",
  ")",
  "[",
  "]",
  "].",
  ".",
  '"a@b.c"',
  '"',
  '\\"',
  "true",
  "False",
  "null",
  "1e999",
  "-1",
  '"\\u0000"',
  "]]",
  "[[",
  'type eq "work"',
  "%",
  "'",
  "\\",
  "\u00e9",
  "\ud83d\ude00",
  " ",
  "  ",
  "value",
];
const PATH_PARTS = [
  "userName",
  "name",
  "name.givenName",
  "emails",
  'emails[type eq "work"]',
  'emails[type eq "work"].value',
  "emails[",
  'phoneNumbers[value co "1"].type',
  "active",
  "id",
  "meta",
  "groups",
  "constructor",
  "__proto__",
  "prototype",
  "constructor.prototype.polluted",
  "__proto__.polluted",
  `${ENTERPRISE}:manager`,
  ENTERPRISE,
  `${ENTERPRISE}:manager.value`,
  "urn:ietf:params:scim:schemas:core:2.0:User:title",
  "x.y.z",
  "",
  'name[givenName eq "a"]',
  "emails[bogus eq 1].value",
  "emails[type gt 1]",
  'addresses[type eq "work"].country',
  "roles",
  "schemas",
];
const VALUES: unknown[] = [
  null,
  true,
  "False",
  "x",
  "",
  0,
  -1,
  1e300,
  [],
  [1],
  [{}],
  {},
  { value: "x" },
  { givenName: 1 },
  { __proto__x: 1 },
  { "name.givenName": "a" },
  { active: "nope" },
  { [`${ENTERPRISE}:manager`]: "DEVU-1" },
  "a".repeat(300),
  [{ value: "v", type: "work" }],
  { constructor: { prototype: { polluted: 1 } } },
  { "constructor.prototype.polluted": 1 },
  { manager: { value: "DEVU-999" } },
];
const OPS = ["add", "replace", "remove", "Add", "REPLACE", "Remove", "move", "copy", "test", "", 7, null];

for (const { dialect, skip } of await testDialects()) {
  describe(`SCIM generated input [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let scim: Scim;
    let target: string;
    before(async () => {
      s = await startTestServer({ dialect });
      scim = scimClient(s, await connect(s, "okta"));
      target = (await scim("POST", "/Users", oktaUser("fuzz@example.com", "Fu", "Zz", "00u-fuzz"))).body.id;
    });
    after(async () => {
      await s?.close();
    });

    it("answers thousands of generated filters with a 200 or a 400 invalidFilter, never a 5xx", async () => {
      const r = random(12);
      let refused = 0;
      for (let i = 0; i < 1500; i++) {
        const parts = Array.from({ length: 1 + Math.floor(r.next() * 9) }, () => r.pick(FILTER_PARTS));
        const text = parts.join(r.next() < 0.8 ? " " : "");
        const res = await scim("GET", `/Users?${filter(text)}`);
        assert.ok(res.status === 200 || res.status === 400, `${JSON.stringify(text)}: ${res.status} ${res.text}`);
        if (res.status === 400) {
          refused++;
          assert.match(res.body.scimType, /^(invalidFilter|invalidValue)$/, `${JSON.stringify(text)}: ${res.text}`);
        }
      }
      assert.ok(refused > 1000, `most generated filters are malformed (${refused} refused)`);
      assertScimError(
        await scim("GET", `/Users?${filter(`userName eq "${"x".repeat(3000)}"`)}`),
        400,
        "invalidFilter",
        /longer/,
      );
      // Newlines in a quoted string made the parser backtrack exponentially: refused before it.
      assertScimError(await scim("GET", `/Users?${filter(`userName eq "${"\n".repeat(40)}`)}`), 400, "invalidFilter");
    });

    it("answers thousands of generated PATCH bodies with a 200 or a 4xx, never a 5xx, and pollutes nothing", async () => {
      const r = random(34);
      const statuses = new Map<number, number>();
      for (let i = 0; i < 1500; i++) {
        const ops = Array.from({ length: 1 + Math.floor(r.next() * 3) }, () => {
          const op: Record<string, unknown> = { op: r.pick(OPS) };
          if (r.next() < 0.8) op.path = r.pick(PATH_PARTS);
          if (r.next() < 0.8) op.value = r.pick(VALUES);
          return op;
        });
        const body =
          r.next() < 0.9 ? { schemas: [PATCH_OP], Operations: ops } : r.pick([ops, "x", { Operations: [] }, null]);
        const res = await scim("PATCH", `/Users/${target}`, body);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        assert.ok(res.status < 500, `${JSON.stringify(body)}: ${res.status} ${res.text}`);
        if (res.status >= 400) assert.equal(res.body.status, String(res.status));
      }
      assert.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, JSON.stringify([...statuses]));
      assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype is untouched");
      // The user is still a user: readable, and its userName its own.
      const now = await scim("GET", `/Users/${target}`);
      assert.equal(now.status, 200);
    });

    it("answers generated POST and PUT bodies of long 4-byte strings in every attribute, never with a 5xx", async () => {
      const r = random(56);
      const big = (n: number) => "\u{1d518}".repeat(n);
      const strings = [
        () => big(256),
        () => big(64),
        () => big(500),
        () => `a@${big(300)}`,
        () => `${big(5)}@x.test`,
        () => "",
      ];
      const some = () => r.pick(strings)();
      // Last in the suite: it fills the org with users, and rewrites one of its own.
      const own = (await scim("POST", "/Users", oktaUser("long@example.com", "Lo", "Ng", "00u-long"))).body.id;
      for (let i = 0; i < 200; i++) {
        const body: Record<string, unknown> = { userName: `long${i}@example.com` };
        for (const a of ["userName", "displayName", "title", "timezone", "externalId", "nickName", "locale"])
          if (r.next() < 0.5) body[a] = some();
        if (r.next() < 0.5)
          body.name = { givenName: some(), familyName: some(), ...(r.next() < 0.5 ? { formatted: some() } : {}) };
        if (r.next() < 0.5) body.phoneNumbers = [{ value: some(), type: some() }];
        if (r.next() < 0.3) body[ENTERPRISE] = { department: some(), manager: { value: r.pick(["DEVU-1", big(100)]) } };
        const res = r.next() < 0.7 ? await scim("POST", "/Users", body) : await scim("PUT", `/Users/${own}`, body);
        assert.ok(res.status < 500, `${JSON.stringify(body).slice(0, 300)}: ${res.status} ${res.text}`);
      }
    });
  });
}
