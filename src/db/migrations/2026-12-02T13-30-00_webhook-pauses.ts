// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// A webhook whose receiver fails is paused until `paused_until`, and then probed with one
// delivery, rather than sent every due delivery of its backlog: against a dead receiver with
// 100,000 pending, the worker made about 1,400 failed attempts a second, each a write. Deliveries
// are then taken webhook by webhook, from an index of each webhook's pending ones by due date, so
// a paused webhook's backlog is never walked. And the seq a webhook last became active at, which
// every fan-out asks, is found in an index of handshake entries alone: the journal's object index
// is kept by block, and without this one the question walked the org's whole journal.
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("webhooks").addColumn("paused_until", "text").execute();
  await db.schema
    .createIndex("webhook_deliveries_webhook_due_idx")
    .on("webhook_deliveries")
    .columns(["webhook_id", "next_attempt_date"])
    .where(sql.ref("state"), "=", sql.lit("pending"))
    .execute();
  await db.schema
    .createIndex("journal_webhook_verify_idx")
    .on("journal")
    .columns(["org_id", "object_id", "seq"])
    .where(sql.ref("operation"), "=", sql.lit("webhooks.verify"))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("journal_webhook_verify_idx").execute();
  await db.schema.dropIndex("webhook_deliveries_webhook_due_idx").execute();
  await db.schema.alterTable("webhooks").dropColumn("paused_until").execute();
}
