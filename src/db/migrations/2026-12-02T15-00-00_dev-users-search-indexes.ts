// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// dev-users.list's `search` is a prefix of the lower-cased display name, full name or email:
// one range of an index per column, within the org. PostgreSQL's indexes are in the "C"
// collation, whose order is code point order, so a prefix is one range whatever collation the
// database has; SQLite compares text by its bytes already. The email has its lower-cased column
// and, on SQLite, the (org_id, email_lower) unique index serves it.
import { type Kysely, PostgresAdapter, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`create index dev_users_search_display_name_idx on dev_users (org_id, (lower(display_name) collate "C"))`.execute(
      db,
    );
    await sql`create index dev_users_search_full_name_idx on dev_users (org_id, (lower(full_name) collate "C"))`.execute(
      db,
    );
    await sql`create index dev_users_search_email_idx on dev_users (org_id, (email_lower collate "C"))`.execute(db);
    return;
  }
  await sql`create index dev_users_search_display_name_idx on dev_users (org_id, lower(display_name))`.execute(db);
  await sql`create index dev_users_search_full_name_idx on dev_users (org_id, lower(full_name))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists dev_users_search_email_idx`.execute(db);
  await sql`drop index dev_users_search_full_name_idx`.execute(db);
  await sql`drop index dev_users_search_display_name_idx`.execute(db);
}
