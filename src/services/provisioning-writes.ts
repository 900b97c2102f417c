// An identity provider's writes through its SCIM connection: create, replace, patch, delete. Each
// is one journalled transaction with the connection as the actor. The directory's rules hold as
// for the API: emails and identities are unique per org (the indexes decide races), a manager is
// another user of the org without a loop, the org keeps an active admin, and a deactivation or a
// deletion ends the user's tokens for good.
import type { Kysely } from "kysely";
import { uniqueViolation } from "../db/errors.js";
import {
  deactivateDevUserRow,
  findDevUser,
  findDevUserByEmail,
  insertDevUser,
  lockDevUserByNumber,
  setPhoneNumbers,
  updateDevUser,
} from "../db/repositories/dev-users.js";
import { deleteIdentity, identitiesOfUsers } from "../db/repositories/identities.js";
import { putScimAttributes } from "../db/repositories/scim-users.js";
import type { Database, DevUserRow } from "../db/types.js";
import { assertThat } from "../errors.js";
import type { Deps, ScimCaller } from "./context.js";
import { hydrateOne } from "./hydrate.js";
import { type Context, type Journal, journalled } from "./journal.js";
import { assertAdminRemains } from "./policy.js";
import {
  asCaller,
  findProvisionable,
  type ProvisionedProfile,
  type ProvisionedUser,
  provisionedViews,
} from "./provisioning.js";
import { canonical, checkedEmail, columnsOf, conflict, extrasText, relink } from "./provisioning-profile.js";

const contextOf = (p: ScimCaller): Context => ({
  actor: { type: "scim_connection", number: p.number },
  orgId: p.orgId,
  requestId: p.requestId,
});

/** The user's wire form now, for the journal. */
async function wireOf(trx: Kysely<Database>, p: ScimCaller, row: DevUserRow) {
  return hydrateOne(trx, asCaller(p), row, await identitiesOfUsers(trx, [row.id]));
}

interface Write {
  operation: "dev_users.scim.create" | "dev_users.scim.update";
  /** PUT or PATCH, for the journal's details. */
  method?: string;
}

/**
 * Writes a profile onto an existing user (a replace, a patch, or a create that brings back a
 * deleted user), and journals it, unless it changes nothing.
 */
async function writeProfile(
  trx: Kysely<Database>,
  journal: Journal,
  p: ScimCaller,
  view: ProvisionedUser,
  profile: ProvisionedProfile,
  now: string,
  write: Write,
): Promise<DevUserRow> {
  const row = view.row;
  const cols = await columnsOf(trx, p, view, profile);
  if (cols.email_lower !== row.email_lower) {
    const other = await findDevUserByEmail(trx, p.orgId, cols.email_lower!);
    assertThat(!other || other.id === row.id, () => conflict(`a user with userName ${cols.email} already exists`));
  }
  const reviving = row.state === "deleted";
  let state = row.state;
  if (reviving) state = profile.active === false ? "deactivated" : "active";
  else if (profile.active === true) state = "active";
  else if (profile.active === false && row.state === "active") state = "deactivated";
  const phones = [...new Set(profile.phoneNumbers)];
  const extras = extrasText(profile.extras);
  const changed =
    Object.entries(cols).some(([k, v]) => row[k as keyof DevUserRow] !== v) ||
    state !== row.state ||
    canonical(phones) !== canonical(JSON.parse(row.phone_numbers)) ||
    extras !== extrasText(view.extras) ||
    (profile.externalId !== undefined && profile.externalId !== (view.externalId ?? null));
  if (!changed) {
    journal.unchanged();
    return row;
  }
  const before = await wireOf(trx, p, row);
  const mark = { modified_date: now, modified_by_id: null };
  if (state === "deactivated" && row.state === "active") {
    await assertAdminRemains(trx, p.orgId, row, "active");
    await updateDevUser(trx, row.id, { ...cols, ...mark });
    await deactivateDevUserRow(trx, row.id, mark);
  } else {
    await updateDevUser(trx, row.id, { ...cols, ...mark, state });
  }
  await setPhoneNumbers(trx, row.id, phones);
  if (profile.externalId !== undefined) await relink(trx, p, row, view.externalId, profile.externalId, now);
  await putScimAttributes(trx, { connectionId: p.connectionId, userId: row.id, orgId: p.orgId, attributes: extras });
  const after = await findDevUser(trx, p.orgId, row.id);
  if (!after) throw new Error(`dev user ${row.id} vanished in its own transaction`);
  await journal.record({
    operation: write.operation,
    object: { type: "dev_user", id: row.number },
    before,
    after: await wireOf(trx, p, after),
    details: {
      issuer: p.issuer,
      ...(write.method ? { method: write.method } : {}),
      ...(reviving ? { revived: true } : {}),
    },
  });
  return after;
}

const viewOf = async (trx: Kysely<Database>, p: ScimCaller, row: DevUserRow) =>
  (await provisionedViews(trx, p, [row]))[0]!;

/** A new user (or one deleted before, brought back under the same id), with the connection's default role. */
export async function createProvisionedUser(
  deps: Deps,
  p: ScimCaller,
  profile: ProvisionedProfile,
): Promise<ProvisionedUser> {
  const email = checkedEmail(profile.email);
  try {
    return await journalled(deps, contextOf(p), async (trx, journal) => {
      const now = deps.now();
      const existing = await findDevUserByEmail(trx, p.orgId, email);
      if (existing) {
        assertThat(existing.state === "deleted", () => conflict(`a user with userName ${email} already exists`));
        await lockDevUserByNumber(trx, p.orgId, existing.number);
        const row = await writeProfile(trx, journal, p, await viewOf(trx, p, existing), profile, now, {
          operation: "dev_users.scim.create",
        });
        return viewOf(trx, p, row);
      }
      const cols = await columnsOf(trx, p, undefined, profile);
      // Takes the org's next number: from here to the commit, other creates in this org wait.
      const row = await insertDevUser(trx, {
        org_id: p.orgId,
        email: cols.email!,
        email_lower: cols.email_lower!,
        display_name: cols.display_name!,
        full_name: cols.full_name ?? "",
        state: profile.active === false ? "deactivated" : "active",
        role: p.defaultRole,
        reports_to_id: cols.reports_to_id ?? null,
        job_history: cols.job_history,
        timezone: cols.timezone ?? null,
        created_date: now,
        modified_date: now,
      });
      await setPhoneNumbers(trx, row.id, [...new Set(profile.phoneNumbers)]);
      if (profile.externalId) await relink(trx, p, row, undefined, profile.externalId, now);
      const extras = extrasText(profile.extras);
      if (extras !== null)
        await putScimAttributes(trx, {
          connectionId: p.connectionId,
          userId: row.id,
          orgId: p.orgId,
          attributes: extras,
        });
      const made = await findDevUser(trx, p.orgId, row.id);
      if (!made) throw new Error(`dev user ${row.id} vanished in its own transaction`);
      await journal.record({
        operation: "dev_users.scim.create",
        object: { type: "dev_user", id: made.number },
        after: await wireOf(trx, p, made),
        details: { issuer: p.issuer },
      });
      return viewOf(trx, p, made);
    });
  } catch (err) {
    // Two creates of one userName can both pass the check above; the unique index decides.
    if (uniqueViolation(err) === "org_email") throw conflict(`a user with userName ${email} already exists`);
    throw err;
  }
}

/**
 * Replaces the user's profile (PUT), or changes it by what `change` makes of the user as it is
 * now, read under the user's lock (PATCH): two patches of one user apply one after the other.
 */
export async function updateProvisionedUser(
  deps: Deps,
  p: ScimCaller,
  number: number,
  method: "PUT" | "PATCH",
  change: (current: ProvisionedUser) => ProvisionedProfile,
): Promise<ProvisionedUser> {
  try {
    return await journalled(deps, contextOf(p), async (trx, journal) => {
      await lockDevUserByNumber(trx, p.orgId, number);
      const view = await viewOf(trx, p, await findProvisionable(trx, p, number));
      const row = await writeProfile(trx, journal, p, view, change(view), deps.now(), {
        operation: "dev_users.scim.update",
        method,
      });
      return viewOf(trx, p, row);
    });
  } catch (err) {
    if (uniqueViolation(err) === "org_email") throw conflict("another user of the org has this userName");
    throw err;
  }
}

/**
 * DELETE: the user is `deleted` for the API, its tokens end, and its identity from this issuer
 * and what the connection kept of it are let go (so the same externalId may be provisioned again).
 */
export async function deleteProvisionedUser(deps: Deps, p: ScimCaller, number: number): Promise<void> {
  await journalled(deps, contextOf(p), async (trx, journal) => {
    await lockDevUserByNumber(trx, p.orgId, number);
    const row = await findProvisionable(trx, p, number);
    await assertAdminRemains(trx, p.orgId, row, "id");
    const before = await wireOf(trx, p, row);
    await deactivateDevUserRow(trx, row.id, { modified_date: deps.now(), modified_by_id: null }, "deleted");
    const released = await deleteIdentity(trx, row.id, p.issuer);
    await putScimAttributes(trx, { connectionId: p.connectionId, userId: row.id, orgId: p.orgId, attributes: null });
    const after = await findDevUser(trx, p.orgId, row.id);
    if (!after) throw new Error(`dev user ${row.id} vanished in its own transaction`);
    await journal.record({
      operation: "dev_users.scim.delete",
      object: { type: "dev_user", id: row.number },
      before,
      after: await wireOf(trx, p, after),
      details: { issuer: p.issuer, ...(released ? { external_id: released.external_id } : {}) },
    });
  });
}
