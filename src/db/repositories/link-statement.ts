// A link on PostgreSQL in two round trips rather than seven: one read of the user with its
// identities and its row version (xmin), then one statement that touches the user if that version
// is still current, inserts the identity, takes the org's next journal seq and writes the entry.
// A single statement is its own transaction, so it is durable when it returns, and either all of
// it happens or none of it. Anything that stands in the way (a changed user, a taken identity)
// makes it change nothing and say so; the service then takes the ordinary transaction, which
// explains the refusal exactly. SQLite, whose writers take turns in a group commit, needs none of
// this.
import { type Kysely, sql } from "kysely";
import type { Database, DevUserRow, IdentityRow, NewJournalEntry } from "../types.js";
import { identitiesJson } from "./identities.js";
import { journalCtes } from "./journal.js";

export interface LinkRead {
  row: DevUserRow;
  /** The row's version: PostgreSQL's xmin, which every update of the row changes. */
  version: string;
  identities: IdentityRow[];
}

export async function readUserForLink(
  db: Kysely<Database>,
  orgId: number,
  number: number,
): Promise<LinkRead | undefined> {
  const { rows } = await sql<
    DevUserRow & { link_version: string; link_identities: IdentityRow[] }
  >`select u.*, u.xmin::text as link_version,
      ${identitiesJson("u.id")} as link_identities
    from dev_users u where u.org_id = ${orgId} and u.number = ${number}`.execute(db);
  const found = rows[0];
  if (!found) return undefined;
  const { link_version: version, link_identities: identities, ...row } = found;
  return { row: row as DevUserRow, version, identities };
}

export interface LinkCommit {
  userId: number;
  version: string;
  now: string;
  byId: number;
  identity: { org_id: number; issuer: string; external_id: string; display_name: string | null };
  entry: NewJournalEntry;
}

/** The marker of a link the statement did not make; nothing else casts it. */
const NOT_MADE = "devusers: link not made";

/** Makes the link and its journal entry, or nothing: false when the user changed or the identity is taken. */
export async function commitLink(db: Kysely<Database>, c: LinkCommit): Promise<boolean> {
  const e = c.entry;
  try {
    await sql`with touched as (
        update dev_users set modified_date = ${c.now}, modified_by_id = ${c.byId}
        where id = ${c.userId} and xmin = ${c.version}::xid
        returning id
      ), linked as (
        insert into external_identities (org_id, dev_user_id, issuer, external_id, display_name, created_date)
        select ${c.identity.org_id}, touched.id, ${c.identity.issuer}, ${c.identity.external_id},
          ${c.identity.display_name}, ${c.now}
        from touched
        on conflict do nothing
        returning id
      ), ${journalCtes(e, { per: "linked" })}
      -- Nothing made: fail the statement, so the touch (which alone may have run) is undone too.
      -- The cast depends on the count, so the planner cannot fold it into an error ahead of time.
      select case when (select count(*) from entry) = 1 then 1
        else cast(${NOT_MADE} || (select count(*) from entry)::text as integer) end as made`.execute(db);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "22P02" && String((err as Error).message).includes(NOT_MADE)) return false;
    throw err;
  }
}
