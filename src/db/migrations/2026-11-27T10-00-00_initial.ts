// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
import { type Kysely, PostgresAdapter, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const idType = pg ? "bigserial" : "integer";
  const id = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());
  const bigint = pg ? "bigint" : "integer";

  await db.schema
    .createTable("orgs")
    .addColumn("id", idType, id)
    .addColumn("slug", "text", (c) => c.notNull().unique())
    .addColumn("created_date", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("dev_users")
    .addColumn("id", idType, id)
    .addColumn("org_id", bigint, (c) => c.notNull().references("orgs.id"))
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("email_lower", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("full_name", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull().defaultTo("member"))
    .addColumn("job_title", "text")
    .addColumn("experience_start_date", "text")
    .addColumn("reports_to_id", bigint, (c) => c.references("dev_users.id"))
    .addColumn("custom_fields", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("job_history", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("availability_modes", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("skills", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("phone_numbers", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("timezone", "text")
    .addColumn("created_by_id", bigint)
    .addColumn("modified_by_id", bigint)
    .addColumn("created_date", "text", (c) => c.notNull())
    .addColumn("modified_date", "text", (c) => c.notNull())
    .addCheckConstraint(
      "dev_users_state_check",
      sql`state in ('active','deactivated','deleted','locked','shadow','unassigned')`,
    )
    .addCheckConstraint("dev_users_role_check", sql`role in ('admin','member')`)
    .execute();

  // One email per org, compared case-insensitively.
  await db.schema
    .createIndex("dev_users_org_email_uq")
    .on("dev_users")
    .columns(["org_id", "email_lower"])
    .unique()
    .execute();
  // Keyset pagination: every sortable column, with id as the tie-breaker.
  for (const col of ["created_date", "modified_date", "display_name", "full_name"]) {
    await db.schema.createIndex(`dev_users_org_${col}_idx`).on("dev_users").columns(["org_id", col, "id"]).execute();
  }

  await db.schema
    .createTable("dev_user_phone_numbers")
    .addColumn("dev_user_id", bigint, (c) => c.notNull().references("dev_users.id"))
    .addColumn("phone_number", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("dev_user_phone_numbers_pk", ["dev_user_id", "phone_number"])
    .execute();
  await db.schema
    .createIndex("dev_user_phone_numbers_number_idx")
    .on("dev_user_phone_numbers")
    .columns(["phone_number"])
    .execute();

  await db.schema
    .createTable("external_identities")
    .addColumn("id", idType, id)
    .addColumn("org_id", bigint, (c) => c.notNull().references("orgs.id"))
    .addColumn("dev_user_id", bigint, (c) => c.notNull().references("dev_users.id"))
    .addColumn("issuer", "text", (c) => c.notNull())
    .addColumn("external_id", "text", (c) => c.notNull())
    .addColumn("display_name", "text")
    .addColumn("is_verified", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_date", "text", (c) => c.notNull())
    .addCheckConstraint("external_identities_nonempty", sql`issuer <> '' and external_id <> ''`)
    .execute();
  // The two rules of the directory, enforced where concurrent writers cannot race past them:
  // an (issuer, id) belongs to one dev user of an org; a dev user holds one identity per issuer.
  await db.schema
    .createIndex("external_identities_org_issuer_id_uq")
    .on("external_identities")
    .columns(["org_id", "issuer", "external_id"])
    .unique()
    .execute();
  await db.schema
    .createIndex("external_identities_user_issuer_uq")
    .on("external_identities")
    .columns(["dev_user_id", "issuer"])
    .unique()
    .execute();

  await db.schema
    .createTable("signing_keys")
    .addColumn("kid", "text", (c) => c.primaryKey())
    .addColumn("alg", "text", (c) => c.notNull())
    .addColumn("private_jwk", "text", (c) => c.notNull())
    .addColumn("public_jwk", "text", (c) => c.notNull())
    .addColumn("created_date", "text", (c) => c.notNull())
    .addColumn("retired_date", "text")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["signing_keys", "external_identities", "dev_user_phone_numbers", "dev_users", "orgs"]) {
    await db.schema.dropTable(table).execute();
  }
}
