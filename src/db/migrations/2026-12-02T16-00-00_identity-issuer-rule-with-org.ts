// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// "A dev user holds at most one identity per issuer" now names the org too, as every other unique
// rule of the directory does: an engine that shards the tables by org can then enforce it within
// one shard. It means the same (a user's org never changes) and keeps its name, which is how a
// refusal is told apart; the user stays its leading column, as the reads by user need.
//
// The new index is built before the old one goes, so the rule holds at every step, and the build
// does not run under the exclusive lock a DROP INDEX takes (PostgreSQL runs a migration in one
// transaction, which would hold that lock to the end). SQLite runs each step on its own, so every
// step may be run again after a crash.
import { type Kysely, PostgresAdapter, sql } from "kysely";

const RULE = "external_identities_user_issuer_uq";
const BUILDING = "external_identities_user_issuer_org_uq";

async function replaceRule(db: Kysely<any>, columns: string[]): Promise<void> {
  await db.schema.createIndex(BUILDING).ifNotExists().on("external_identities").columns(columns).unique().execute();
  await db.schema.dropIndex(RULE).ifExists().execute();
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`alter index ${sql.id(BUILDING)} rename to ${sql.id(RULE)}`.execute(db);
    return;
  }
  // SQLite cannot rename an index: the rule's name is built once more, then the stand-in goes.
  await db.schema.createIndex(RULE).ifNotExists().on("external_identities").columns(columns).unique().execute();
  await db.schema.dropIndex(BUILDING).ifExists().execute();
}

export async function up(db: Kysely<any>): Promise<void> {
  await replaceRule(db, ["dev_user_id", "issuer", "org_id"]);
}

export async function down(db: Kysely<any>): Promise<void> {
  await replaceRule(db, ["dev_user_id", "issuer"]);
}
