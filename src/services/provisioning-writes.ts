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
  findDevUserByNumber,
  insertDevUser,
  lockDevUserByNumber,
  managerChain,
  setPhoneNumbers,
  updateDevUser,
} from "../db/repositories/dev-users.js";
import {
  deleteIdentity,
  findLinkObstacles,
  identitiesOfUsers,
  insertIdentityUnlessTaken,
} from "../db/repositories/identities.js";
import { lockOrg } from "../db/repositories/orgs.js";
import { putScimAttributes } from "../db/repositories/scim-users.js";
import type { Database, DevUserPatch, DevUserRow, StoredJobHistoryItem } from "../db/types.js";
import { ApiError, assertThat, valueNotPermitted } from "../errors.js";
import { devUserDisplayId, parseDevUserId } from "../ids.js";
import { isEmail } from "../validation.js";
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

/** What a connection keeps per user, as JSON: bounded, as every stored user is. */
export const MAX_EXTRAS_BYTES = 16 * 1024;
const MAX_CHAIN = 1000;

const contextOf = (p: ScimCaller): Context => ({
  actor: { type: "scim_connection", number: p.number },
  orgId: p.orgId,
  requestId: p.requestId,
});

const conflict = (detail: string) => new ApiError("conflict", detail);

/** JSON with sorted keys: two objects that say the same compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function extrasText(extras: Record<string, unknown>): string | null {
  if (Object.keys(extras).length === 0) return null;
  const text = canonical(extras);
  const bytes = Buffer.byteLength(text);
  assertThat(bytes <= MAX_EXTRAS_BYTES, () =>
    valueNotPermitted("attributes", `what is kept besides the directory's fields is at most ${MAX_EXTRAS_BYTES} bytes`),
  );
  return text;
}

/** Job history with `title` as the current job's (added, changed, or taken away). */
function withTitle(jobHistory: string, title: string | undefined): string {
  const items = JSON.parse(jobHistory) as StoredJobHistoryItem[];
  const at = items.findIndex((i) => i.is_current === true);
  if (title !== undefined) {
    if (at >= 0) items[at] = { ...items[at], title };
    else items.push({ is_current: true, title });
  } else if (at >= 0) {
    const { title: _gone, ...rest } = items[at]!;
    if (Object.keys(rest).length === 1) items.splice(at, 1);
    else items[at] = rest;
  }
  return JSON.stringify(items);
}

/**
 * The manager a profile names, as a primary key (null for none): another user of the org, without
 * a loop. The manager the user already has is kept as it is.
 */
async function managerId(trx: Kysely<Database>, p: ScimCaller, view: ProvisionedUser | undefined, ref: string | null) {
  if (ref === null) return null;
  const noSuch = () => valueNotPermitted("manager", `"${ref}" is no user of this org`);
  let number: number;
  try {
    number = parseDevUserId(ref, "manager", p.org);
  } catch {
    throw noSuch();
  }
  if (view?.manager && view.manager.number === number) return view.manager.id;
  const userId = view?.row.id ?? null;
  const manager = await findDevUserByNumber(trx, p.orgId, number);
  assertThat(manager && manager.state !== "deleted", noSuch);
  if (userId !== null) {
    assertThat(manager.id !== userId, () => valueNotPermitted("manager", "a user cannot be its own manager"));
    // Two concurrent changes could each pass this check and close a loop together.
    await lockOrg(trx, p.orgId);
    const chain = await managerChain(trx, manager.id, MAX_CHAIN);
    assertThat(!chain.includes(userId), () => valueNotPermitted("manager", "this would make a reporting cycle"));
  }
  return manager.id;
}

function checkedEmail(raw: string): string {
  const email = raw.trim();
  assertThat(isEmail(email), () => valueNotPermitted("userName", "must be an email address: it is the user's email"));
  return email;
}

/** The columns a profile sets (state and phone numbers aside). */
async function columnsOf(
  trx: Kysely<Database>,
  p: ScimCaller,
  view: ProvisionedUser | undefined,
  profile: ProvisionedProfile,
): Promise<DevUserPatch> {
  const row = view?.row;
  const email = checkedEmail(profile.email);
  const displayName = profile.displayName?.trim() ? profile.displayName : email.split("@")[0]!;
  const cols: DevUserPatch = {
    email,
    email_lower: email.toLowerCase(),
    display_name: displayName,
    full_name: profile.fullName,
    timezone: profile.timezone ?? null,
    job_history: withTitle(row?.job_history ?? "[]", profile.title),
    reports_to_id: await managerId(trx, p, view, profile.manager),
  };
  return cols;
}

/** Links the user to `externalId` from the connection's issuer (null: unlinks), unless it already is. */
async function relink(
  trx: Kysely<Database>,
  p: ScimCaller,
  user: DevUserRow,
  current: string | undefined,
  next: string | null,
  now: string,
) {
  if ((current ?? null) === next) return false;
  if (current !== undefined) await deleteIdentity(trx, user.id, p.issuer);
  if (next === null) return true;
  const inserted = await insertIdentityUnlessTaken(trx, {
    org_id: p.orgId,
    dev_user_id: user.id,
    issuer: p.issuer,
    external_id: next,
    display_name: null,
    created_date: now,
  });
  if (inserted) return true;
  const owner = (await findLinkObstacles(trx, p.orgId, user.id, p.issuer, next)).find((r) => r.external_id === next);
  const holder = owner && (await findDevUser(trx, p.orgId, owner.dev_user_id));
  throw conflict(
    `externalId "${next}" is linked to another user of the org${holder ? ` (${devUserDisplayId(holder.number)})` : ""}`,
  );
}

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
