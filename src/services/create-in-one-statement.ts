// PostgreSQL: dev-users.create without reports_to, as one statement (db/repositories/
// create-statement.ts). The journal entry is written by the statement that takes the user's
// number, so it is built beforehand around a stand-in number, and its text is cut where that
// number stands. The answer is built from the row the statement returns, as the transaction's is.

import { insertDevUserWithEntry } from "../db/repositories/create-statement.js";
import type { NewDevUserFields } from "../db/repositories/dev-users.js";
import type { DevUserRow } from "../db/types.js";
import type { Caller, Deps } from "./context.js";
import { hydrateOne } from "./hydrate.js";
import { contextOf, entryOf } from "./journal.js";
import type { WireDevUser } from "./wire.js";

/** A number no user holds, so it stands in the entry's text exactly where the real one goes. */
const STAND_IN = 987_654_321_987;

/**
 * The user made and journalled, or undefined when the entry's text does not hold the stand-in
 * exactly once (a custom field could hold it too): the caller then takes the transaction.
 */
export async function createInOneStatement(
  deps: Deps,
  caller: Caller,
  fields: NewDevUserFields,
): Promise<WireDevUser | undefined> {
  const db = deps.db.kysely;
  // The columns the insert leaves to their defaults, as the table gives them.
  const standIn: DevUserRow = {
    id: 0,
    number: STAND_IN,
    job_title: null,
    experience_start_date: null,
    job_history: "[]",
    availability_modes: "[]",
    skills: "[]",
    phone_numbers: "[]",
    timezone: null,
    token_generation: 0,
    reports_to_id: null,
    ...fields,
  } as DevUserRow;
  const after = await hydrateOne(db, caller, standIn, []); // a user made just now holds no identities yet
  const {
    object_id: _,
    after: text,
    ...entry
  } = entryOf(deps, contextOf(caller), {
    operation: "dev_users.create",
    object: { type: "dev_user", id: STAND_IN },
    after,
  });
  const parts = (text ?? "").split(String(STAND_IN));
  if (parts.length !== 2) return undefined;
  const row = await insertDevUserWithEntry(db, fields, entry, [parts[0]!, parts[1]!]);
  deps.changed?.(["dev_users.create"]);
  return hydrateOne(db, caller, row, []);
}
