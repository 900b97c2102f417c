// DevRev's webhooks through the official SDK, and their deliveries to a real receiver: the verify
// handshake, every event type against the shared spec, signatures checked with node:crypto alone,
// order per user, retries, and the address policy.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { guardedLookup, isPrivateAddress } from "../src/services/webhook-url.js";
import { testDialects } from "./helpers/databases.js";
import { type Receiver, startReceiver } from "./helpers/receiver.js";
import { assertError, SHADOW, sdkError, startTestServer, type TestServer } from "./helpers/server.js";
import { loadSpec } from "./helpers/spec.js";

const FAST = { WEBHOOK_RETRY_BASE_MS: "50", WEBHOOK_TIMEOUT_MS: "1000" };

function eventValidator(): ((body: unknown) => boolean) & { errors?: unknown } {
  const spec = loadSpec("webhooks.openapi.yaml");
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  return ajv.compile({ $ref: "#/components/schemas/webhook-event-request", components: spec.components });
}

const sign = (secret: string, body: string) => createHmac("sha256", secret).update(body).digest("hex");

for (const { dialect, skip } of await testDialects()) {
  describe(`webhooks [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let rx: Receiver;
    const validate = eventValidator();
    before(async () => {
      s = await startTestServer({ dialect, env: FAST });
      rx = await startReceiver();
    });
    after(async () => {
      await s?.close();
      await rx?.close();
    });

    /** A webhook on the receiver, verified and active. */
    async function activeWebhook(eventTypes: string[]) {
      const created = await s.sdk().webhooksCreate({ url: rx.url, event_types: eventTypes as never });
      const id = created.data.webhook.id;
      const deadline = Date.now() + 10_000;
      for (;;) {
        const w = (await s.sdk().webhooksGet({ id })).data.webhook;
        if (w.status === "active") return w;
        assert.ok(Date.now() < deadline, "the webhook never became active");
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    it("creates, reads, lists, updates and deletes webhooks through the SDK, admin-only", async () => {
      const admin = s.sdk();
      const created = await admin.webhooksCreate({
        url: "http://127.0.0.1:9/never",
        event_types: ["dev_user_created" as never],
      });
      assert.equal(created.status, 201);
      const w = created.data.webhook;
      assert.match(w.id, /^don:integration:dvrv-us-1:devo\/default:webhook\/\d+$/);
      assert.equal(w.status, "unverified");
      assert.equal(Buffer.from(w.secret, "base64").length, 32, "a generated secret is 32 bytes");
      assert.deepEqual(w.event_types, ["dev_user_created"]);
      assert.deepEqual((await admin.webhooksGet({ id: w.id })).data.webhook, w);
      assert.deepEqual((await admin.webhooksGetPost({ id: w.id })).data.webhook, w);
      assert.ok((await admin.webhooksList()).data.webhooks.some((x) => x.id === w.id));
      assert.ok((await admin.webhooksListPost({})).data.webhooks.some((x) => x.id === w.id));
      const added = await admin.webhooksUpdate({
        id: w.id,
        event_types: { add: ["dev_user_updated" as never], remove: ["dev_user_created" as never] },
      });
      assert.deepEqual(added.data.webhook.event_types, ["dev_user_updated"]);
      const set = await admin.webhooksUpdate({ id: w.id, event_types: { set: ["webhook_deleted" as never] } });
      assert.deepEqual(set.data.webhook.event_types, ["webhook_deleted"]);
      const both = await sdkError(
        admin.webhooksUpdate({ id: w.id, event_types: { set: [], add: ["verify" as never] } } as never),
      );
      assert.equal(both.status, 400);
      assert.equal(both.body.field_name, "event_types");
      const off = await admin.webhooksUpdate({ id: w.id, action: "deactivate" as never });
      assert.equal(off.data.webhook.status, "inactive");
      const mine = await s.user("webhook-member@example.com");
      assert.equal((await sdkError(mine.sdk.webhooksList())).status, 403);
      assert.equal((await sdkError(mine.sdk.webhooksCreate({ url: rx.url }))).status, 403);
      await admin.webhooksDelete({ id: w.id });
      assert.equal((await sdkError(admin.webhooksGet({ id: w.id }))).status, 404);
      // Journalled, and never with the secret.
      const log = await s.http("GET", `/audit-logs.list?categories=webhooks&limit=100`);
      const ops = log.body.audit_logs.map((e: any) => e.operation);
      assert.ok(ops.includes("webhooks.create") && ops.includes("webhooks.update") && ops.includes("webhooks.delete"));
      assert.ok(!log.text.includes(w.secret), "no journal entry holds the secret");
    });

    it("keeps an org to 100 webhooks", async () => {
      const ids: string[] = [];
      const existing = (await s.sdk().webhooksList()).data.webhooks.length;
      for (let i = existing; i < 100; i++) {
        ids.push(
          (await s.http("POST", "/webhooks.create", { body: { url: "http://127.0.0.1:9/cap" } })).body.webhook.id,
        );
      }
      assertError(
        await s.http("POST", "/webhooks.create", { body: { url: "http://127.0.0.1:9/cap" } }),
        400,
        "value_not_permitted",
      );
      for (const id of ids) await s.http("POST", "/webhooks.delete", { body: { id } });
    });

    it("refuses bad secrets, URLs and headers with a 400 naming the field", async () => {
      const bad = async (body: Record<string, unknown>, field: string) =>
        assertError(await s.http("POST", "/webhooks.create", { body }), 400, "value_not_permitted", {
          field_name: field,
        });
      await bad({ url: rx.url, secret: Buffer.alloc(7).toString("base64") }, "secret");
      await bad({ url: rx.url, secret: Buffer.alloc(33).toString("base64") }, "secret");
      await bad({ url: rx.url, secret: "not base64!" }, "secret");
      await bad({ url: "ftp://example.com/x" }, "url");
      await bad({ url: "not a url" }, "url");
      await bad({ url: "http://user:pw@example.com/" }, "url");
      await bad({ url: rx.url, headers: [{ name: "X-DevRev-Signature", value: "forged" }] }, "headers");
      const ok = await s.http("POST", "/webhooks.create", {
        body: { url: rx.url, secret: Buffer.alloc(8, 1).toString("base64") },
      });
      assert.equal(ok.status, 201);
      await s.http("POST", "/webhooks.delete", { body: { id: ok.body.webhook.id } });
    });

    it("turns a webhook active only when it echoes the verify challenge", async () => {
      rx.echo = false;
      try {
        const w = (await s.sdk().webhooksCreate({ url: rx.url })).data.webhook;
        await rx.waitFor(
          () => rx.received.some((r) => r.json.type === "verify" && r.json.webhook_id === w.id),
          "verify",
        );
        const verify = rx.received.find((r) => r.json.webhook_id === w.id)!;
        assert.ok(validate(verify.json), JSON.stringify(validate.errors));
        assert.equal(verify.headers["x-devrev-signature"], sign(w.secret, verify.body));
        await new Promise((r) => setTimeout(r, 300));
        assert.equal((await s.sdk().webhooksGet({ id: w.id })).data.webhook.status, "unverified");
        await s.sdk().webhooksDelete({ id: w.id });
      } finally {
        rx.echo = true;
      }
      const ok = await activeWebhook([]);
      assert.equal(ok.status, "active");
      await s.sdk().webhooksDelete({ id: ok.id });
    });

    it("delivers every dev user event as the spec describes it, signed, in order per user", async () => {
      const w = await activeWebhook(["dev_user_created", "dev_user_updated", "webhook_created"]);
      const admin = s.sdk();
      const u = (await admin.devUsersCreate({ email: "hooked@example.com", state: SHADOW })).data.dev_user;
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: `hook-${i}`, id: `h${i}` }),
        ),
      );
      await admin.devUsersIdentitiesUnlink({ dev_user: u.id, issuer: "hook-0" });
      const v = (await admin.devUsersCreate({ email: "hooked-2@example.com", state: SHADOW })).data.dev_user;
      await admin.devUsersMerge({ primary_user: u.id, secondary_user: v.id });
      const ofThis = () => rx.received.filter((r) => r.json.webhook_id === w.id && r.json.type !== "verify");
      // Another webhook, with credentials of its own: what this one hears of it carries none.
      const other = await admin.webhooksCreate({
        url: `${rx.url}?token=capability-in-url`,
        headers: [{ name: "Authorization", value: "Bearer other-receivers-key" }],
      });
      await rx.waitFor(() => ofThis().length >= 26, "25 events about users, and one about the other webhook");
      const [created] = ofThis().filter((r) => r.json.type === "webhook_created");
      assert.ok(created);
      assert.equal(created.json.webhook_created.webhook.id, other.data.webhook.id);
      assert.equal(created.json.webhook_created.webhook.secret, "", "an event never carries a secret");
      assert.deepEqual(created.json.webhook_created.webhook.headers, [{ name: "Authorization", value: "" }]);
      for (const leak of [other.data.webhook.secret, "other-receivers-key", "capability-in-url"]) {
        assert.ok(!created.body.includes(leak), `the event holds ${leak}`);
      }
      assert.ok(validate(created.json), JSON.stringify(validate.errors));
      await admin.webhooksDelete({ id: other.data.webhook.id });
      const mine = ofThis().filter((r) => r.json.type !== "webhook_created");
      assert.equal(mine.length, 25, "nothing twice");
      for (const r of mine) {
        assert.ok(validate(r.json), `${r.json.type}: ${JSON.stringify(validate.errors)}`);
        assert.equal(r.headers["x-devrev-signature"], sign(w.secret, r.body), "signature over the raw body");
        assert.equal(r.headers["content-type"], "application/json");
      }
      const aboutU = mine
        .map((r) => r.json)
        .filter((e) => (e.dev_user_created ?? e.dev_user_updated)?.dev_user.id === u.id);
      assert.equal(aboutU[0].type, "dev_user_created");
      for (const e of aboutU) {
        const body = e.dev_user_created ?? e.dev_user_updated;
        assert.equal(body.dev_user.role, "member", `${e.type} carries the user's role`);
        if (body.old_dev_user) assert.equal(body.old_dev_user.role, "member", `${e.type}: the role before`);
      }
      const links = aboutU.slice(1, 21).map((e) => e.dev_user_updated.dev_user.external_identities.length);
      assert.deepEqual(
        links,
        links.map((_, i) => i + 1),
        "each link's event holds every link committed before it: commit order",
      );
      const unlink = aboutU[21].dev_user_updated;
      assert.equal(unlink.old_dev_user.external_identities.length, 20);
      assert.equal(unlink.dev_user.external_identities.length, 19);
      const merge = aboutU[22].dev_user_updated;
      assert.equal(merge.dev_user.external_identities.length, 19);
      const ids = mine.map((r) => r.json.id);
      assert.equal(new Set(ids).size, ids.length, "event ids are unique");
      await s.sdk().webhooksDelete({ id: w.id });
    });

    it("retries a receiver that is down until it is back: everything arrives, once", async () => {
      const w = await activeWebhook(["dev_user_created"]);
      rx.status = 503;
      const admin = s.sdk();
      const emails = Array.from({ length: 5 }, (_, i) => `retried-${i}@example.com`);
      for (const email of emails) await admin.devUsersCreate({ email, state: SHADOW });
      await rx.waitFor(
        () => rx.received.filter((r) => r.json.webhook_id === w.id && r.json.type !== "verify").length >= 3,
        "failed attempts",
      );
      rx.status = 200;
      const got = () =>
        new Set(
          rx.received
            .filter((r) => r.json.webhook_id === w.id && r.json.type === "dev_user_created")
            .map((r) => r.json.dev_user_created.dev_user.email),
        );
      await rx.waitFor(() => emails.every((e) => got().has(e)), "all five after the receiver came back", 20_000);
      // The receiver has them all; each is settled as delivered once its answer is in.
      const path = `/webhooks.deliveries.list?webhook=${encodeURIComponent(w.id)}`;
      const delivered = async () =>
        ((await s.http("GET", path)).body.deliveries as any[]).filter((d) => d.state === "delivered");
      const until = Date.now() + 10_000;
      while ((await delivered()).length < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const log = await s.http("GET", path);
      assert.equal(log.status, 200, log.text);
      assert.equal((await delivered()).length, 5);
      const settled = await delivered();
      assert.ok(
        settled.some((d: any) => d.attempts > 1),
        "some took more than one attempt",
      );
      assert.ok(log.body.deliveries.every((d: any) => typeof d.last_latency_ms === "number"));
      await s.sdk().webhooksDelete({ id: w.id });
    });

    it("redelivers one event on request", async () => {
      const w = await activeWebhook(["dev_user_created"]);
      await s.sdk().devUsersCreate({ email: "again@example.com", state: SHADOW });
      const count = () =>
        rx.received.filter((r) => r.json.webhook_id === w.id && r.json.type === "dev_user_created").length;
      await rx.waitFor(() => count() === 1, "the event");
      const event = rx.received.find((r) => r.json.webhook_id === w.id && r.json.type === "dev_user_created")!.json;
      // The receiver has it before the worker's settling commits; a redelivery takes settled ones.
      for (let i = 0; i < 100; i++) {
        const log = await s.http("GET", `/webhooks.deliveries.list?webhook=${encodeURIComponent(w.id)}`);
        if (log.body.deliveries.some((d: any) => d.event_id === event.id && d.state === "delivered")) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const res = await s.http("POST", "/webhooks.deliveries.redeliver", {
        body: { webhook: w.id, event_id: event.id },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.redelivered, 1);
      await rx.waitFor(() => count() === 2, "the redelivery");
      const [first, second] = rx.received.filter(
        (r) => r.json.webhook_id === w.id && r.json.type === "dev_user_created",
      );
      assert.equal(first!.body, second!.body, "the same event, the same id: receivers deduplicate by it");
      await s.sdk().webhooksDelete({ id: w.id });
    });
  });
}

describe("webhook address policy", () => {
  it("classes private, loopback, link-local and metadata addresses as private", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fd00:ec2::254",
      "fe80::1",
      "::ffff:10.0.0.1",
      "::ffff:a9fe:a9fe",
      "::7f00:1",
      "64:ff9b::a00:1",
    ]) {
      assert.equal(isPrivateAddress(a), true, a);
    }
    for (const a of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
      assert.equal(isPrivateAddress(a), false, a);
  });

  it("refuses a name that resolves to a private address, after resolution", async () => {
    const lookup = guardedLookup(false);
    const err = await new Promise<Error | null>((resolve) => lookup("localhost", {}, (e) => resolve(e)));
    assert.match(String(err?.message), /private address/);
    const allowed = await new Promise<string>((resolve) =>
      guardedLookup(true)("localhost", {}, (_e, a) => resolve(String(a))),
    );
    assert.match(allowed, /^(127\.0\.0\.1|::1)$/);
  });

  it("refuses private targets when the policy says so, and by default on a public listener", async () => {
    const s = await startTestServer({ env: { WEBHOOK_PRIVATE_TARGETS: "deny" } });
    try {
      for (const url of [
        "http://127.0.0.1:8080/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://localhost/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://[::ffff:a9fe:a9fe]/",
      ]) {
        assertError(await s.http("POST", "/webhooks.create", { body: { url } }), 400, "value_not_permitted", {
          field_name: "url",
        });
      }
      assert.equal(
        (await s.http("POST", "/webhooks.create", { body: { url: "https://example.com/hook" } })).status,
        201,
      );
    } finally {
      await s.close();
    }
    const { loadConfig } = await import("../src/config.js");
    assert.equal(loadConfig({ HOST: "0.0.0.0" }).webhooks.allowPrivateTargets, false);
    assert.equal(loadConfig({ HOST: "127.0.0.1" }).webhooks.allowPrivateTargets, true);
    assert.equal(loadConfig({ HOST: "0.0.0.0", WEBHOOK_PRIVATE_TARGETS: "allow" }).webhooks.allowPrivateTargets, true);
  });
});

describe("two instances on one PostgreSQL", {
  skip: (await testDialects()).find((d) => d.dialect === "postgres")?.skip,
}, () => {
  it("share the deliveries: every event arrives, none twice", async () => {
    const a = await startTestServer({ dialect: "postgres", env: FAST });
    const b = await startTestServer({ dialect: "postgres", databaseUrl: a.databaseUrl, env: FAST });
    const rx = await startReceiver();
    try {
      const w = (await a.sdk().webhooksCreate({ url: rx.url, event_types: ["dev_user_created" as never] })).data
        .webhook;
      const until = Date.now() + 10_000;
      while ((await a.sdk().webhooksGet({ id: w.id })).data.webhook.status !== "active") {
        assert.ok(Date.now() < until, "never active");
        await new Promise((r) => setTimeout(r, 50));
      }
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).sdk().devUsersCreate({ email: `shared-${i}@example.com`, state: SHADOW }),
        ),
      );
      const events = () => rx.received.filter((r) => r.json.type === "dev_user_created");
      await rx.waitFor(() => events().length >= 40, "40 events");
      await new Promise((r) => setTimeout(r, 500));
      const ids = events().map((r) => r.json.id);
      assert.equal(ids.length, 40, "no event twice");
      assert.equal(new Set(ids).size, 40);
    } finally {
      await rx.close();
      await b.close();
      await a.close();
    }
  });
});
