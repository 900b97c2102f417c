// Turns dev user rows into wire objects with their identities and the users they refer to,
// in two queries whatever the number of rows.
import type { Kysely } from "kysely";
import { findDevUsers } from "../db/repositories/dev-users.js";
import { identitiesOfUsers } from "../db/repositories/identities.js";
import type { Database, DevUserRow, IdentityRow } from "../db/types.js";
import type { Caller } from "./context.js";
import { toWireDevUser } from "./mapper.js";
import type { WireDevUser } from "./wire.js";

export async function hydrate(
  db: Kysely<Database>,
  caller: Caller,
  rows: DevUserRow[],
  /** Identities already read, by user id: those users are not asked for again. */
  read?: ReadonlyMap<number, IdentityRow[]>,
): Promise<WireDevUser[]> {
  const { orgId, org } = caller;
  const byId = new Map<number, DevUserRow>(rows.map((r) => [r.id, r]));
  // Most references are to the caller (who created or last changed the user): already read.
  if (caller.row && !byId.has(caller.row.id)) byId.set(caller.row.id, caller.row);
  const wanted = new Set<number>();
  for (const r of rows) {
    for (const ref of [r.created_by_id, r.modified_by_id, r.reports_to_id]) {
      if (ref !== null && !byId.has(ref)) wanted.add(ref);
    }
  }
  // The caller's identities, when remembered and nothing has been written since.
  const memo = caller.memo;
  const known = memo?.identities && memo.current ? memo.identities : undefined;
  const [identities, related] = await Promise.all([
    identitiesOfUsers(
      db,
      rows.flatMap((r) => ((known && r.id === caller.userId) || read?.has(r.id) ? [] : [r.id])),
    ),
    wanted.size > 0 ? findDevUsers(db, orgId, [...wanted]) : [],
  ]);
  for (const r of related) byId.set(r.id, r);
  const grouped = new Map<number, IdentityRow[]>();
  for (const i of identities) {
    const list = grouped.get(i.dev_user_id);
    if (list) list.push(i);
    else grouped.set(i.dev_user_id, [i]);
  }
  if (read) for (const [id, list] of read) grouped.set(id, list);
  if (known) grouped.set(caller.userId, known);
  else if (memo && rows.some((r) => r.id === caller.userId) && memo.current) {
    // Still current after the read, so what it read belongs to the memo's version.
    memo.identities = grouped.get(caller.userId) ?? [];
  }
  return rows.map((r) => toWireDevUser(org, r, grouped.get(r.id) ?? [], byId));
}

export async function hydrateOne(
  db: Kysely<Database>,
  caller: Caller,
  row: DevUserRow,
  identities?: IdentityRow[],
): Promise<WireDevUser> {
  const [user] = await hydrate(db, caller, [row], identities && new Map([[row.id, identities]]));
  return user!;
}
