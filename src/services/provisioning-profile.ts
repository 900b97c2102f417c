// What a provisioned profile makes of a dev user's columns, identity and kept attributes, and the
// checks on it: the email, the manager (another user of the org, no loop), the current job's
// title, the size of what is kept. Used by provisioning-writes.ts inside its transactions.
import type { Kysely } from "kysely";
import { findDevUser, findDevUserByNumber, managerChain } from "../db/repositories/dev-users.js";
import { deleteIdentity, findLinkObstacles, insertIdentityUnlessTaken } from "../db/repositories/identities.js";
import { lockOrg } from "../db/repositories/orgs.js";
import type { Database, DevUserPatch, DevUserRow, StoredJobHistoryItem } from "../db/types.js";
import { ApiError, assertThat, valueNotPermitted } from "../errors.js";
import { devUserDisplayId, parseDevUserId } from "../ids.js";
import { isEmail } from "../validation.js";
import type { ScimCaller } from "./context.js";
import type { ProvisionedProfile, ProvisionedUser } from "./provisioning.js";

export const conflict = (detail: string) => new ApiError("conflict", detail);

/** What a connection keeps per user, as JSON: bounded, as every stored user is. */
export const MAX_EXTRAS_BYTES = 16 * 1024;
const MAX_CHAIN = 1000;

/** JSON with sorted keys: two objects that say the same compare equal. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function extrasText(extras: Record<string, unknown>): string | null {
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

export function checkedEmail(raw: string): string {
  const email = raw.trim();
  assertThat(isEmail(email), () => valueNotPermitted("userName", "must be an email address: it is the user's email"));
  return email;
}

/** The columns a profile sets (state and phone numbers aside). */
export async function columnsOf(
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
export async function relink(
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
