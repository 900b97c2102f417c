// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// The change journal: one row per write, appended in the write's own transaction. `seq` numbers an
// org's entries in commit order, taken from the org's row in `journal_heads`, whose row lock
// (PostgreSQL) makes an org's journalled writes commit in the order they took their numbers. A
// table of its own, not a column of orgs: merges and cycle checks lock the org's row early in
// their transactions, and every write takes its seq last, just before its commit; sharing one row
// would let a merge and a link each hold what the other waits for.
import { type Kysely, PostgresAdapter, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const idType = pg ? "bigserial" : "integer";
  const id = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());
  const bigint = pg ? "bigint" : "integer";

  await db.schema
    .createTable("journal_heads")
    .addColumn("org_id", bigint, (c) => c.primaryKey())
    .addColumn("next_seq", bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("journal")
    .addColumn("id", idType, id)
    .addColumn("org_id", bigint, (c) => c.notNull())
    .addColumn("seq", bigint, (c) => c.notNull())
    .addColumn("created_date", "text", (c) => c.notNull())
    // 'dev_user' (actor_id is the user's number in the org), 'cli' or 'system'; later kinds add
    // to these. Objects are named by number too: what the wire's ids carry.
    .addColumn("actor_type", "text", (c) => c.notNull())
    .addColumn("actor_id", bigint)
    .addColumn("operation", "text", (c) => c.notNull())
    .addColumn("object_type", "text", (c) => c.notNull())
    .addColumn("object_id", bigint)
    // A second object the change is also about: a merge's secondary user.
    .addColumn("related_id", bigint)
    // JSON text: the object's wire form before and after, and what else the operation records.
    .addColumn("before", "text")
    .addColumn("after", "text")
    .addColumn("details", "text")
    .addColumn("request_id", "text")
    .execute();
  await db.schema.createIndex("journal_org_seq_uq").on("journal").columns(["org_id", "seq"]).unique().execute();
  await db.schema
    .createIndex("journal_org_object_seq_idx")
    .on("journal")
    .columns(["org_id", "object_type", "object_id", "seq"])
    .execute();
  // Partial: only merges name a second object, so other entries cost this index nothing.
  await db.schema
    .createIndex("journal_org_related_seq_idx")
    .on("journal")
    .columns(["org_id", "related_id", "seq"])
    .where(sql.ref("related_id"), "is not", null)
    .execute();
  await db.schema
    .createIndex("journal_org_created_seq_idx")
    .on("journal")
    .columns(["org_id", "created_date", "seq"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("journal").execute();
  await db.schema.dropTable("journal_heads").execute();
}
