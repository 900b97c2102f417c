// A create on PostgreSQL in one statement rather than four (BEGIN, the insert, the journal entry,
// COMMIT): the org's next number taken, the user inserted with it, the org's next journal seq
// taken and the entry written, all or nothing and durable when it returns. The entry names the
// user by the number the statement takes, so its text comes in two parts, joined around it. The
// org's counter and journal head are then held only for the statement's own commit, not for two
// more round trips. SQLite, whose writers take turns in a group commit, needs none of this.
import { type Kysely, sql } from "kysely";
import type { Database, DevUserRow, NewJournalEntry } from "../types.js";
import type { NewDevUserFields } from "./dev-users.js";

export async function insertDevUserWithEntry(
  db: Kysely<Database>,
  row: NewDevUserFields,
  entry: Omit<NewJournalEntry, "object_id" | "after">,
  /** The entry's `after`, in the two parts that go before and after the user's number. */
  after: [string, string],
): Promise<DevUserRow> {
  const e = entry;
  const cols = (Object.keys(row) as (keyof NewDevUserFields)[]).filter((c) => row[c] !== undefined);
  const { rows } = await sql<DevUserRow>`with taken as (
      update orgs set next_user_number = next_user_number + 1 where id = ${row.org_id}
      returning next_user_number - 1 as number
    ), inserted as (
      insert into dev_users (${sql.join(cols.map((c) => sql.ref(c)))}, number)
      select ${sql.join(cols.map((c) => sql`${row[c]}`))}, taken.number from taken
      returning *
    ), head as (
      insert into journal_heads (org_id, next_seq) select ${e.org_id}, 2 from inserted
      on conflict (org_id) do update set next_seq = journal_heads.next_seq + 1
      returning next_seq
    ), entry as (
      insert into journal (org_id, seq, created_date, actor_type, actor_id, operation, object_type,
        object_id, related_id, before, after, details, request_id)
      select ${e.org_id}, head.next_seq - 1, ${e.created_date}, ${e.actor_type}, ${e.actor_id ?? null},
        ${e.operation}, ${e.object_type}, inserted.number, ${e.related_id ?? null}, ${e.before ?? null},
        ${after[0]}::text || inserted.number::text || ${after[1]}::text, ${e.details ?? null}, ${e.request_id ?? null}
      from head, inserted
      returning seq
    )
    select inserted.* from inserted, entry`.execute(db);
  if (!rows[0]) throw new Error(`org ${row.org_id} does not exist`);
  return rows[0];
}
