// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// SCIM 2.0 provisioning. A connection is one identity provider's way in: an org's admin makes one
// per provider, named by the issuer its users' linked identities carry, with one bearer token,
// kept only as its SHA-256 (`token_hash`, unique: a request finds its connection by it). Numbered
// per org, like webhooks, from the org's own counter, so a deleted connection's number (which the
// journal names as the actor of its writes) is never given again.
//
// `scim_user_attributes` holds, per connection and user, what the provider sent that the directory
// has no field for (name parts, email and phone types, addresses, the enterprise extension's
// strings...), as JSON, so that a GET answers what was provisioned.
import { type Kysely, PostgresAdapter, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const idType = pg ? "bigserial" : "integer";
  const id = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());
  const bigint = pg ? "bigint" : "integer";

  await db.schema
    .alterTable("orgs")
    .addColumn("next_scim_connection_number", bigint, (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema
    .createTable("scim_connections")
    .addColumn("id", idType, id)
    .addColumn("org_id", bigint, (c) => c.notNull().references("orgs.id"))
    .addColumn("number", bigint, (c) => c.notNull())
    .addColumn("issuer", "text", (c) => c.notNull())
    .addColumn("default_role", "text", (c) => c.notNull().defaultTo("member"))
    // 0 or 1: one integer type on both databases.
    .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(1))
    // Null once revoked: the connection then takes no request until a new token is made.
    .addColumn("token_hash", "text")
    .addColumn("token_issued_date", "text")
    .addColumn("created_by_id", bigint)
    .addColumn("modified_by_id", bigint)
    .addColumn("created_date", "text", (c) => c.notNull())
    .addColumn("modified_date", "text", (c) => c.notNull())
    .addCheckConstraint("scim_connections_role_check", sql`default_role in ('admin','member')`)
    .execute();
  await db.schema
    .createIndex("scim_connections_org_number_uq")
    .on("scim_connections")
    .columns(["org_id", "number"])
    .unique()
    .execute();
  await db.schema
    .createIndex("scim_connections_org_issuer_uq")
    .on("scim_connections")
    .columns(["org_id", "issuer"])
    .unique()
    .execute();
  // Both dialects let a unique index hold many NULLs: revoked connections do not collide.
  await db.schema
    .createIndex("scim_connections_token_hash_uq")
    .on("scim_connections")
    .column("token_hash")
    .unique()
    .execute();

  await db.schema
    .createTable("scim_user_attributes")
    .addColumn("connection_id", bigint, (c) => c.notNull().references("scim_connections.id").onDelete("cascade"))
    .addColumn("dev_user_id", bigint, (c) => c.notNull().references("dev_users.id"))
    .addColumn("org_id", bigint, (c) => c.notNull())
    // JSON text: an object of SCIM attributes, as the provider sent them.
    .addColumn("attributes", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("scim_user_attributes_pk", ["connection_id", "dev_user_id"])
    .execute();
  await db.schema
    .createIndex("scim_user_attributes_user_idx")
    .on("scim_user_attributes")
    .column("dev_user_id")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("scim_user_attributes").execute();
  await db.schema.dropTable("scim_connections").execute();
  await db.schema.alterTable("orgs").dropColumn("next_scim_connection_number").execute();
}
