// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// An act-as token holds an admin's authority: it ends when its maker stops being an active admin,
// or is deactivated (even if activated again). The maker's token generation at minting says which.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("auth_tokens").addColumn("created_by_generation", "integer").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("auth_tokens").dropColumn("created_by_generation").execute();
}
