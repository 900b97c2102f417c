// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// The journal's index by object becomes one by block of 1024 entries, then object: keyed by
// object alone, each entry of a link landed on a page of its own (users are linked in no order),
// so a group commit of 30 links wrote 30 more pages; keyed by block first, an entry lands among
// the last block's, a few pages that every commit writes anyway. A user's entries are then found
// block by block (src/db/repositories/journal.ts). Both dialects index the expression itself.
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("journal_org_object_seq_idx").execute();
  await sql`create index journal_org_block_object_idx on journal (org_id, (seq >> 10), object_type, object_id, seq)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index journal_org_block_object_idx`.execute(db);
  await db.schema
    .createIndex("journal_org_object_seq_idx")
    .on("journal")
    .columns(["org_id", "object_type", "object_id", "seq"])
    .execute();
}
