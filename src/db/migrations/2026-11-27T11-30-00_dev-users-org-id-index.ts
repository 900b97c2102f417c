// Frozen in time. Listing in creation order (the default) filters by org and orders by id; without
// this index the planner picked another (org_id, …) index and sorted the whole org for every page.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("dev_users_org_id_idx").on("dev_users").columns(["org_id", "id"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("dev_users_org_id_idx").execute();
}
