// Linking external identities: the heart of the directory. The unique indexes decide every
// race; a refused insert is then explained by a look at what refused it.
import type { Kysely } from "kysely";
import { findDevUser, touchDevUserByNumber } from "../db/repositories/dev-users.js";
import {
  deleteIdentity,
  findLinkObstacles,
  identitiesOfUsers,
  insertIdentityUnlessTaken,
} from "../db/repositories/identities.js";
import { commitLink, readUserForLink } from "../db/repositories/link-statement.js";
import type { Database, DevUserRow, IdentityRow } from "../db/types.js";
import { ApiError, assertThat, notFound, unavailable, valueNotPermitted } from "../errors.js";
import { devUserDon, parseDevUserId } from "../ids.js";
import type { Caller, Deps } from "./context.js";
import { hydrateOne } from "./hydrate.js";
import { contextOf, entryOf, journalled } from "./journal.js";
import { toWireIdentity } from "./mapper.js";
import { requireAdmin } from "./policy.js";
import type { WireDevUser } from "./wire.js";

export interface LinkInput {
  dev_user: string;
  issuer: string;
  id: string;
  display_name?: string;
}

function nonEmpty(value: string, field: string): string {
  assertThat(value.trim() !== "", () => valueNotPermitted(field, "must not be empty"));
  return value;
}

/** The precise error for a link that cannot be made, or undefined if nothing stands in the way. */
async function linkConflict(
  db: Kysely<Database>,
  caller: Caller,
  user: DevUserRow,
  issuer: string,
  externalId: string,
): Promise<ApiError | undefined> {
  const rows = await findLinkObstacles(db, caller.orgId, user.id, issuer, externalId);
  const owner = rows.find((r) => r.external_id === externalId);
  if (owner) {
    const isSame = owner.dev_user_id === user.id;
    // Named by its number in the org. An identity's user is in the identity's org, and users are
    // never deleted, so it is there.
    const parent = isSame ? user : await findDevUser(db, caller.orgId, owner.dev_user_id);
    if (!parent) throw new Error(`identity ${owner.id} names user ${owner.dev_user_id}, not in org ${caller.orgId}`);
    return new ApiError(
      "artifact_already_attached_to_a_parent",
      `identity ${issuer}/${externalId} is already linked to a dev user`,
      { existing_parent: devUserDon(caller.org, parent.number), is_same: isSame },
    );
  }
  if (rows.some((r) => r.dev_user_id === user.id)) {
    return new ApiError(
      "value_not_permitted",
      `issuer: the dev user already holds an identity from issuer "${issuer}"`,
      { field_name: "issuer", reason: "a dev user holds at most one identity per issuer" },
    );
  }
  return undefined;
}

export async function linkIdentity(deps: Deps, caller: Caller, input: LinkInput): Promise<WireDevUser> {
  requireAdmin(caller);
  const issuer = nonEmpty(input.issuer, "issuer");
  const externalId = nonEmpty(input.id, "id");
  const number = parseDevUserId(input.dev_user, "dev_user", caller.org);
  if (deps.db.dialect === "postgres") {
    const made = await linkInOneStatement(deps, caller, number, {
      issuer,
      externalId,
      displayName: input.display_name,
    });
    if (made) return made;
  }
  return journalled(deps, caller, async (trx, journal) => {
    const now = deps.now();
    // Touching the user first both loads it and, on PostgreSQL, orders concurrent links to it;
    // a refused link rolls the touch back with everything else.
    const touched = await touchDevUserByNumber(trx, caller.orgId, number, now, caller.userId);
    assertThat(touched, () => notFound("dev user"));
    const user = touched.row;
    const identity = {
      org_id: caller.orgId,
      dev_user_id: user.id,
      issuer,
      external_id: externalId,
      display_name: input.display_name ?? null,
      created_date: now,
    };
    // The unique indexes decide; only a refused insert pays for finding out what refused it. What
    // refused it can be gone by then (unlinked in between, on PostgreSQL): then insert again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const inserted = await insertIdentityUnlessTaken(trx, identity);
      if (inserted) {
        // The user is locked (touched), so no other identity of theirs changes meanwhile.
        const held = (await identitiesOfUsers(trx, [user.id])).filter((i) => i.id !== inserted.id);
        const after = await hydrateOne(trx, caller, user, [...held, inserted]);
        // An exact diff rather than the whole user before: the write path stays as fast as it was,
        // and readers render the user as it was (services/journal-render.ts).
        await journal.record({
          operation: "dev_users.identities.link",
          object: { type: "dev_user", id: user.number },
          after,
          diff: { ...touched.previous, identity_added: held.length },
          details: { issuer, id: externalId },
        });
        return after;
      }
      const conflict = await linkConflict(trx, caller, user, issuer, externalId);
      if (conflict) throw conflict;
    }
    throw unavailable(`identity ${issuer}/${externalId} is being changed by other requests; try again`);
  });
}

/**
 * PostgreSQL: the link after one read, in one statement (db/repositories/link-statement.ts), or
 * undefined when something stands in the way; the transaction below then finds out what.
 */
async function linkInOneStatement(
  deps: Deps,
  caller: Caller,
  number: number,
  want: { issuer: string; externalId: string; displayName: string | undefined },
): Promise<WireDevUser | undefined> {
  const db = deps.db.kysely;
  // Authentication read the user with the caller, where it could (PostgreSQL).
  const read =
    caller.fetched?.number === number ? caller.fetched.user : await readUserForLink(db, caller.orgId, number);
  assertThat(read, () => notFound("dev user"));
  if (read.identities.some((i) => i.issuer === want.issuer)) return undefined;
  const now = deps.now();
  const row: DevUserRow = { ...read.row, modified_date: now, modified_by_id: caller.userId };
  const identity: IdentityRow = {
    // Listed last, as the insert's new id will be: only the order matters to the wire.
    id: Number.MAX_SAFE_INTEGER,
    org_id: caller.orgId,
    dev_user_id: row.id,
    issuer: want.issuer,
    external_id: want.externalId,
    display_name: want.displayName ?? null,
    is_verified: 0,
    created_date: now,
  };
  const after = await hydrateOne(db, caller, row, [...read.identities, identity]);
  const entry = entryOf(deps, contextOf(caller), {
    operation: "dev_users.identities.link",
    object: { type: "dev_user", id: row.number },
    after,
    diff: {
      modified_date: read.row.modified_date,
      modified_by_id: read.row.modified_by_id,
      identity_added: read.identities.length,
    },
    details: { issuer: want.issuer, id: want.externalId },
  });
  const made = await commitLink(db, {
    userId: row.id,
    version: read.version,
    now,
    byId: caller.userId,
    identity,
    entry,
  });
  if (!made) return undefined;
  deps.changed?.(["dev_users.identities.link"]);
  return after;
}

export async function unlinkIdentity(
  deps: Deps,
  caller: Caller,
  input: { dev_user: string; issuer: string },
): Promise<WireDevUser> {
  requireAdmin(caller);
  const issuer = nonEmpty(input.issuer, "issuer");
  const number = parseDevUserId(input.dev_user, "dev_user", caller.org);
  return journalled(deps, caller, async (trx, journal) => {
    // The user row first, as link and merge lock it: taking the identity row first would let an
    // unlink and a merge each hold what the other waits for.
    const touched = await touchDevUserByNumber(trx, caller.orgId, number, deps.now(), caller.userId);
    assertThat(touched, () => notFound("dev user"));
    const user = touched.row;
    const held = await identitiesOfUsers(trx, [user.id]);
    const removed = await deleteIdentity(trx, user.id, issuer);
    assertThat(removed, () => notFound(`identity from issuer "${issuer}"`));
    const kept = held.filter((i) => i.id !== removed.id);
    const after = await hydrateOne(trx, caller, user, kept);
    await journal.record({
      operation: "dev_users.identities.unlink",
      object: { type: "dev_user", id: user.number },
      after,
      diff: {
        ...touched.previous,
        identity_removed: { at: held.findIndex((i) => i.id === removed.id), identity: toWireIdentity(removed) },
      },
      details: { issuer, id: removed.external_id },
    });
    return after;
  });
}
