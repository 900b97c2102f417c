// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// "A dev user holds at most one identity per issuer" now names the org too, as every other unique
// rule of the directory does: an engine that shards the tables by org can then enforce it within
// one shard. It means the same (a user's org never changes) and keeps its name, which is how a
// refusal is told apart; the user stays its leading column, as the reads by user need.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("external_identities_user_issuer_uq").execute();
  await db.schema
    .createIndex("external_identities_user_issuer_uq")
    .on("external_identities")
    .columns(["dev_user_id", "issuer", "org_id"])
    .unique()
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("external_identities_user_issuer_uq").execute();
  await db.schema
    .createIndex("external_identities_user_issuer_uq")
    .on("external_identities")
    .columns(["dev_user_id", "issuer"])
    .unique()
    .execute();
}
