// A create on PostgreSQL in one statement rather than four (BEGIN, the insert, the journal entry,
// COMMIT): the org's next number taken, the user inserted with it, the org's next journal seq
// taken and the entry written, all or nothing and durable when it returns. The entry names the
// user by the number the statement takes, so its text comes in two parts, joined around it. The
// org's counter and journal head are then held only for the statement's own commit, not for two
// more round trips. SQLite, whose writers take turns in a group commit, needs none of this.
import { type Kysely, sql } from "kysely";
import type { Database, DevUserRow, NewJournalEntry } from "../types.js";
import type { NewDevUserFields } from "./dev-users.js";
import { journalCtes } from "./journal.js";

export async function insertDevUserWithEntry(
  db: Kysely<Database>,
  row: NewDevUserFields,
  entry: Omit<NewJournalEntry, "object_id" | "after">,
  /** The entry's `after`, in the two parts that go before and after the user's number. */
  after: [string, string],
): Promise<DevUserRow> {
  const cols = (Object.keys(row) as (keyof NewDevUserFields)[]).filter((c) => row[c] !== undefined);
  const { rows } = await sql<DevUserRow>`with taken as (
      update orgs set next_user_number = next_user_number + 1 where id = ${row.org_id}
      returning next_user_number - 1 as number
    ), inserted as (
      insert into dev_users (${sql.join(cols.map((c) => sql.ref(c)))}, number)
      select ${sql.join(cols.map((c) => sql`${row[c]}`))}, taken.number from taken
      returning *
    ), ${journalCtes(entry, {
      per: "inserted",
      objectId: sql`inserted.number`,
      after: sql`${after[0]}::text || inserted.number::text || ${after[1]}::text`,
    })}
    select inserted.* from inserted, entry`.execute(db);
  if (!rows[0]) throw new Error(`org ${row.org_id} does not exist`);
  return rows[0];
}
