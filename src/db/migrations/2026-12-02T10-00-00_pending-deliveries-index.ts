// Frozen in time. Before taking a delivery, the claim asks whether an earlier one of the same
// webhook and object is still pending. The (webhook_id, ordering_key, journal_seq) index answers it
// only by visiting every delivery the object ever had, and PostgreSQL without statistics answered
// it by AND-ing that index with the whole pending range of the due index: 12 ms per delivery at
// 100,000 pending. Holding pending deliveries alone, this one answers from a few entries.
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex("webhook_deliveries_pending_order_idx")
    .on("webhook_deliveries")
    .columns(["webhook_id", "ordering_key", "journal_seq", "id"])
    .where(sql.ref("state"), "=", sql.lit("pending"))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("webhook_deliveries_pending_order_idx").execute();
}
