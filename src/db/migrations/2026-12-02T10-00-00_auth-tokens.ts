// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// Every token the service mints has a row here, named by the token's `jti`: authentication reads
// it in the same statement as the caller's user row, so a revocation ends the token on its very
// next request, on every instance. `subject` is the user the token acts as, by its number in the
// org; `created_by` whoever made it (the same user, an admin acting as them, or none for the CLI).
// `generation` is the subject's token generation at minting: a deactivation since ends it.
import { type Kysely, PostgresAdapter } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const idType = pg ? "bigserial" : "integer";
  const id = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());
  const bigint = pg ? "bigint" : "integer";

  await db.schema
    .createTable("auth_tokens")
    .addColumn("id", idType, id)
    .addColumn("org_id", bigint, (c) => c.notNull().references("orgs.id"))
    .addColumn("jti", "text", (c) => c.notNull())
    .addColumn("subject", bigint, (c) => c.notNull())
    // 'pat' or 'pat:act-as': DevRev's requested_token_type without its urn prefix.
    .addColumn("type", "text", (c) => c.notNull())
    // Space-separated, sorted; null for the subject's full rights.
    .addColumn("scopes", "text")
    .addColumn("token_hint", "text")
    .addColumn("generation", "integer", (c) => c.notNull())
    .addColumn("created_by_type", "text", (c) => c.notNull())
    .addColumn("created_by", bigint)
    .addColumn("issued_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("modified_date", "text", (c) => c.notNull())
    .addColumn("modified_by", bigint)
    .addColumn("revoked_at", "text")
    .execute();
  await db.schema.createIndex("auth_tokens_org_jti_uq").on("auth_tokens").columns(["org_id", "jti"]).unique().execute();
  await db.schema
    .createIndex("auth_tokens_org_subject_idx")
    .on("auth_tokens")
    .columns(["org_id", "subject", "id"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("auth_tokens").execute();
}
