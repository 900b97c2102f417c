// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// Webhooks (DevRev's webhooks.* API) and their deliveries. A webhook is numbered per org, like a
// user (`…:webhook/<n>`), from the org's counter. Deliveries are made from the change journal by
// the delivery worker (src/delivery): `delivery_cursors` holds, per org, the last journal seq it
// has turned into deliveries, and each delivery row is one event for one webhook, with its
// attempts. `ordering_key` names what the event is about: a webhook's events about one object are
// sent in journal order.
import { type Kysely, PostgresAdapter } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const idType = pg ? "bigserial" : "integer";
  const id = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());
  const bigint = pg ? "bigint" : "integer";

  await db.schema
    .alterTable("orgs")
    .addColumn("next_webhook_number", bigint, (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema
    .createTable("webhooks")
    .addColumn("id", idType, id)
    .addColumn("org_id", bigint, (c) => c.notNull().references("orgs.id"))
    .addColumn("number", bigint, (c) => c.notNull())
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("secret", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    // JSON text: string[] of event types; JSON text: {name, value}[] sent with every delivery.
    .addColumn("event_types", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("headers", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("created_by_id", bigint)
    .addColumn("modified_by_id", bigint)
    .addColumn("created_date", "text", (c) => c.notNull())
    .addColumn("modified_date", "text", (c) => c.notNull())
    // The verify handshake under way: the challenge sent, and when the webhook stops waiting.
    .addColumn("verify_challenge", "text")
    .addColumn("verify_deadline", "text")
    // Health: consecutive failed attempts, since when, and the last error (none when healthy).
    .addColumn("consecutive_failures", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("failing_since", "text")
    .addColumn("last_error", "text")
    .execute();
  await db.schema.createIndex("webhooks_org_number_uq").on("webhooks").columns(["org_id", "number"]).unique().execute();

  await db.schema
    .createTable("delivery_cursors")
    .addColumn("org_id", bigint, (c) => c.primaryKey().references("orgs.id"))
    .addColumn("last_seq", bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("webhook_deliveries")
    .addColumn("id", idType, id)
    .addColumn("org_id", bigint, (c) => c.notNull())
    .addColumn("webhook_id", bigint, (c) => c.notNull().references("webhooks.id").onDelete("cascade"))
    .addColumn("journal_seq", bigint, (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("ordering_key", "text", (c) => c.notNull())
    // The exact bytes sent, so every attempt and every redelivery carries the same body.
    .addColumn("body", "text", (c) => c.notNull())
    // pending (to send, at next_attempt_date), delivered, or failed (attempts used up).
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_date", "text", (c) => c.notNull())
    // A worker that took the delivery, and until when: past it, another may take it again.
    .addColumn("lease_until", "text")
    .addColumn("last_status", "integer")
    .addColumn("last_error", "text")
    .addColumn("last_latency_ms", "integer")
    .addColumn("created_date", "text", (c) => c.notNull())
    .addColumn("delivered_date", "text")
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_due_idx")
    .on("webhook_deliveries")
    .columns(["state", "next_attempt_date"])
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_webhook_idx")
    .on("webhook_deliveries")
    .columns(["webhook_id", "ordering_key", "journal_seq"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("webhook_deliveries").execute();
  await db.schema.dropTable("delivery_cursors").execute();
  await db.schema.dropTable("webhooks").execute();
  await db.schema.alterTable("orgs").dropColumn("next_webhook_number").execute();
}
