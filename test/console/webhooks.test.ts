// The webhooks pages against a real receiver on loopback (allowed: the test server listens on
// 127.0.0.1, so WEBHOOK_PRIVATE_TARGETS's "auto" lets webhooks point there). Retries are made
// fast and few so a failing receiver settles its deliveries within the test.
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { type Receiver, startReceiver } from "../helpers/receiver.js";
import { SHADOW } from "../helpers/server.js";
import { consoleTest, useConsole } from "./browser.js";

const harness = useConsole({
  env: { WEBHOOK_RETRY_BASE_MS: "50", WEBHOOK_TIMEOUT_MS: "1000", WEBHOOK_MAX_ATTEMPTS: "2" },
});
const SLOW = { timeout: 60_000 };
let rx: Receiver;
before(async () => {
  rx = await startReceiver();
});
after(async () => {
  await rx?.close();
});

async function until<T>(what: string, read: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await read();
    if (got !== undefined) return got;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

consoleTest(
  "makes a webhook: the secret shown once, then the handshake turns it active",
  async (t) => {
    const { page, h } = t;
    await t.open("/webhooks");
    await page.getByRole("heading", { name: "Webhooks" }).waitFor();
    await t.axe("the webhooks page");
    await page.getByRole("button", { name: "New webhook" }).click();
    await page.getByLabel("URL").fill(rx.url);
    await page.getByLabel("dev_user_deleted").check();
    await t.axe("the new-webhook dialog");
    await page.getByRole("button", { name: "Create webhook" }).click();
    const shown = page.getByRole("dialog", { name: "The webhook's secret" });
    await shown.waitFor();
    const secret = ((await shown.locator("code").textContent()) ?? "").trim();
    const listed = (await h.server.sdk().webhooksList()).data.webhooks;
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.secret, secret, "the secret shown is the webhook's");
    assert.deepEqual(listed[0]!.event_types, ["dev_user_created", "dev_user_updated", "dev_user_deleted"]);
    await t.context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await shown.getByRole("button", { name: "Copy secret" }).click();
    await shown.getByRole("button", { name: "Copy secret" }).filter({ hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await t.axe("the secret shown once");
    await shown.getByRole("button", { name: "Done" }).click();
    await shown.waitFor({ state: "hidden" });
    assert.ok(!(await page.content()).includes(secret), "the secret is gone once the dialog closes");
    // The page re-reads the list while a handshake is under way; the receiver answers the first.
    await page.getByRole("cell", { name: "Active", exact: true }).waitFor({ timeout: 20_000 });
    await page.reload();
    await page.getByRole("cell", { name: rx.url, exact: true }).waitFor();
    assert.ok(!(await page.content()).includes(secret), "and after a reload");
    await page.getByRole("button", { name: `Turn off ${rx.url}` }).click();
    await page.getByRole("cell", { name: "Inactive" }).waitFor();
    assert.equal((await h.server.sdk().webhooksList()).data.webhooks[0]!.status, "inactive");
  },
  SLOW,
);

consoleTest(
  "a refused URL says why in a sentence, and the list is unchanged",
  async (t) => {
    const { page, h } = t;
    await t.open("/webhooks");
    await page.getByRole("heading", { name: "Webhooks" }).waitFor();
    await page.getByRole("button", { name: "Refresh" }).waitFor();
    const before = (await h.server.sdk().webhooksList()).data.webhooks.length;
    const rows = await page.getByRole("row").count();
    await page.getByRole("button", { name: "New webhook" }).click();
    await page.getByLabel("URL").fill("http://someone:password@127.0.0.1:9/hook");
    await page.getByRole("button", { name: "Create webhook" }).click();
    const alert = page.getByRole("dialog", { name: "New webhook" }).getByRole("alert");
    await alert.waitFor();
    const text = (await alert.textContent()) ?? "";
    assert.equal(text, "URL must not hold a user name or password.");
    await t.axe("a refused webhook");
    await page.getByRole("button", { name: "Cancel" }).click();
    assert.equal(await page.getByRole("row").count(), rows, "no row was added");
    assert.equal((await h.server.sdk().webhooksList()).data.webhooks.length, before, "no webhook was made");

    // An action the service refuses (the webhook went away meanwhile) leaves its row as it was.
    const gone = (await h.server.sdk().webhooksCreate({ url: "http://127.0.0.1:9/gone" })).data.webhook;
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.getByRole("cell", { name: "http://127.0.0.1:9/gone", exact: true }).waitFor();
    await h.server.sdk().webhooksDelete({ id: gone.id });
    await page.getByRole("button", { name: "Turn off http://127.0.0.1:9/gone" }).click();
    await page.getByRole("alert").filter({ hasText: "It was not found" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Turn off http://127.0.0.1:9/gone" }).count(), 1);
  },
  SLOW,
);

consoleTest(
  "the delivery log shows attempts and errors, and sends a failed event again",
  async (t) => {
    const { page, h } = t;
    const admin = h.server.sdk();
    const made = (await admin.webhooksCreate({ url: rx.url, event_types: ["dev_user_created" as never] })).data.webhook;
    await until("the handshake", async () =>
      (await admin.webhooksGet({ id: made.id })).data.webhook.status === "active" ? true : undefined,
    );
    rx.status = 500;
    await admin.devUsersCreate({ email: "failing@example.com", state: SHADOW });
    const failed = await until("the delivery to fail", async () => {
      const r = await h.server.http("POST", "/webhooks.deliveries.list", { body: { webhook: made.id } });
      const list = (r.body as { deliveries: { state: string; event_id: string }[] }).deliveries;
      return list.find((d) => d.state === "failed");
    });
    rx.status = 200;
    await t.open(`/webhooks/${encodeURIComponent(made.id)}`);
    await page.getByRole("heading", { name: `Deliveries to ${rx.url}` }).waitFor();
    await page.getByRole("cell", { name: "failed" }).waitFor();
    await page.getByRole("cell", { name: "HTTP 500", exact: false }).first().waitFor();
    assert.equal(await page.getByRole("cell", { name: "2", exact: true }).count(), 1, "both attempts are counted");
    await t.axe("the delivery log");
    const short = failed.event_id.split(":").at(-1);
    await page.getByRole("button", { name: `Send dev_user_created ${short} again` }).click();
    await page.getByText("is queued to be sent again").waitFor();
    await rx.waitFor(() => rx.events().some((e) => e.id === failed.event_id), "the redelivery", 20_000);
    await until("the delivery to be delivered", async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      return (await page.getByRole("cell", { name: "delivered" }).count()) > 0 ? true : undefined;
    });
    assert.ok(harness().server);
  },
  SLOW,
);
