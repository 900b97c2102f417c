// Rules for dev users: who may do what, and what each change leaves in the directory.
import type { Kysely } from "kysely";
import { uniqueViolation } from "../db/errors.js";
import {
  deactivateDevUserRow,
  findDevUser,
  findDevUserByNumber,
  findDevUserWithIdentitiesByNumber,
  insertDevUser,
  managerChain,
  moveReports,
  updateDevUser,
  updateDevUserInOrg,
} from "../db/repositories/dev-users.js";
import { identitiesOfUsers, moveIdentities } from "../db/repositories/identities.js";
import { lockOrg } from "../db/repositories/orgs.js";
import type { Database, DevUserPatch, DevUserRow, StoredJobHistoryItem } from "../db/types.js";
import { ApiError, assertThat, notFound, valueNotPermitted } from "../errors.js";
import { parseDevUserId } from "../ids.js";
import { isEmail, isoDateTime } from "../validation.js";
import type { Caller, Deps } from "./context.js";
import { createInOneStatement } from "./create-in-one-statement.js";
import { availabilityModes, employmentStatuses } from "./enums.js";
import { hydrateOne } from "./hydrate.js";
import { type Journal, journalled } from "./journal.js";
import { assertAdminRemains, requireAdmin } from "./policy.js";
import { changeRole, recordUserChange } from "./user-changes.js";
import type { WireDevUser } from "./wire.js";

export interface CreateInput {
  email: string;
  state: string;
  full_name?: string;
  reports_to?: string;
  custom_fields?: Record<string, unknown>;
  custom_schema_spec?: unknown;
}

export interface UpdateFields {
  display_name?: string;
  full_name?: string;
  experience_start_date?: string;
  job_title?: string;
  reports_to?: string;
  job_history?: StoredJobHistoryItem[];
  availability_modes?: number[];
  custom_fields?: Record<string, unknown>;
  custom_schema_spec?: unknown;
}

export interface UpdateInput extends UpdateFields {
  id: string;
  staged_info?: unknown;
  /** Beyond DevRev's spec: admins change roles here, as `devusers role set` does. */
  role?: "admin" | "member";
}

const MAX_CHAIN = 1000;

/** The user of the caller's org a wire id names (`field` is where the id was given). */
export async function loadUser(db: Kysely<Database>, caller: Caller, id: string, field: string): Promise<DevUserRow> {
  const row = await findDevUserByNumber(db, caller.orgId, parseDevUserId(id, field, caller.org));
  assertThat(row, () => notFound("dev user"));
  return row;
}

/** `reports_to` must name another user of the org without closing a loop of managers. */
async function checkManager(db: Kysely<Database>, caller: Caller, userId: number | null, ref: string) {
  const manager = await loadUser(db, caller, ref, "reports_to").catch((err: unknown) => {
    if (err instanceof ApiError && err.type === "not_found") {
      throw valueNotPermitted("reports_to", "no such dev user in this org");
    }
    throw err;
  });
  if (userId !== null) {
    assertThat(manager.id !== userId, valueNotPermitted("reports_to", "a dev user cannot report to itself"));
    // Two concurrent changes could each pass this check and close a loop together.
    await lockOrg(db, caller.orgId);
    const chain = await managerChain(db, manager.id, MAX_CHAIN);
    assertThat(!chain.includes(userId), valueNotPermitted("reports_to", "this would make a reporting cycle"));
  }
  return manager.id;
}

/**
 * The most custom_fields may hold, as stored JSON in UTF-8. It bounds what merges can grow a row
 * to, and so what every get, self and list sends back.
 */
export const MAX_CUSTOM_FIELDS_BYTES = 64 * 1024;

function mergeCustomFields(current: string, update: Record<string, unknown>): string {
  // Keys given replace their values; a null value removes the key.
  const merged = { ...(JSON.parse(current) as Record<string, unknown>) };
  for (const [k, v] of Object.entries(update)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  const json = JSON.stringify(merged);
  const bytes = Buffer.byteLength(json);
  assertThat(bytes <= MAX_CUSTOM_FIELDS_BYTES, () =>
    valueNotPermitted(
      "custom_fields",
      `must stay at most ${MAX_CUSTOM_FIELDS_BYTES} bytes as stored JSON once merged (would be ${bytes})`,
    ),
  );
  return json;
}

async function buildPatch(
  db: Kysely<Database>,
  caller: Caller,
  row: DevUserRow,
  input: UpdateFields,
  now: string,
): Promise<DevUserPatch> {
  const patch: DevUserPatch = { modified_date: now, modified_by_id: caller.userId };
  if (input.display_name !== undefined) {
    assertThat(input.display_name.trim() !== "", valueNotPermitted("display_name", "must not be empty"));
    patch.display_name = input.display_name;
  }
  if (input.full_name !== undefined) patch.full_name = input.full_name;
  if (input.job_title !== undefined) patch.job_title = input.job_title;
  if (input.experience_start_date !== undefined) {
    patch.experience_start_date = isoDateTime(input.experience_start_date, "experience_start_date");
  }
  if (input.reports_to !== undefined) patch.reports_to_id = await checkManager(db, caller, row.id, input.reports_to);
  if (input.availability_modes !== undefined) {
    for (const id of input.availability_modes) {
      assertThat(
        availabilityModes.has(id),
        () =>
          new ApiError("value_not_permitted", `availability_modes: unknown mode ${id}`, {
            field_name: "availability_modes",
            allowed_values: [...availabilityModes.keys()].map(String),
          }),
      );
    }
    patch.availability_modes = JSON.stringify([...new Set(input.availability_modes)]);
  }
  if (input.job_history !== undefined) {
    const items = input.job_history.map((item, i) => {
      const out: StoredJobHistoryItem = {};
      if (item.employment_status !== undefined) {
        assertThat(
          employmentStatuses.has(item.employment_status),
          () =>
            new ApiError("value_not_permitted", `job_history[${i}].employment_status: unknown status`, {
              field_name: `job_history[${i}].employment_status`,
              allowed_values: [...employmentStatuses.keys()].map(String),
            }),
        );
        out.employment_status = item.employment_status;
      }
      if (item.start_date !== undefined) out.start_date = isoDateTime(item.start_date, `job_history[${i}].start_date`);
      if (item.end_date !== undefined) out.end_date = isoDateTime(item.end_date, `job_history[${i}].end_date`);
      if (item.is_current !== undefined) out.is_current = item.is_current;
      if (item.location !== undefined) out.location = item.location;
      if (item.title !== undefined) out.title = item.title;
      return out;
    });
    patch.job_history = JSON.stringify(items);
  }
  if (input.custom_fields !== undefined)
    patch.custom_fields = mergeCustomFields(row.custom_fields, input.custom_fields);
  return patch;
}

export async function getDevUser(deps: Deps, caller: Caller, id: string): Promise<WireDevUser> {
  const db = deps.db.kysely;
  const number = parseDevUserId(id, "id", caller.org);
  const found =
    caller.fetched?.number === number
      ? caller.fetched.user
      : await findDevUserWithIdentitiesByNumber(db, caller.orgId, number);
  assertThat(found, () => notFound("dev user"));
  return hydrateOne(db, caller, found.row, found.identities);
}

export async function getSelf(deps: Deps, caller: Caller): Promise<WireDevUser> {
  const db = deps.db.kysely;
  // Authentication read this row moments ago, in this request.
  const row = caller.row ?? (await findDevUser(db, caller.orgId, caller.userId));
  assertThat(row, () => notFound("dev user"));
  return hydrateOne(db, caller, row, caller.row ? caller.identities : undefined);
}

export async function createDevUser(deps: Deps, caller: Caller, input: CreateInput): Promise<WireDevUser> {
  requireAdmin(caller);
  const email = input.email.trim();
  assertThat(isEmail(email), valueNotPermitted("email", "must be an email address"));
  const now = deps.now();
  const fields = {
    org_id: caller.orgId,
    email,
    email_lower: email.toLowerCase(),
    display_name: email.split("@")[0]!,
    full_name: input.full_name ?? "",
    state: "shadow",
    role: "member",
    custom_fields: mergeCustomFields("{}", input.custom_fields ?? {}),
    created_by_id: caller.userId,
    modified_by_id: caller.userId,
    created_date: now,
    modified_date: now,
  };
  try {
    // A manager is read and checked first, in the transaction; without one, PostgreSQL makes the
    // user and its entry in one statement.
    if (input.reports_to === undefined && deps.db.dialect === "postgres") {
      const made = await createInOneStatement(deps, caller, { ...fields, reports_to_id: null });
      if (made) return made;
    }
    return await journalled(deps, caller, async (trx, journal) => {
      // The unique index on (org, lower(email)) refuses a taken email (caught below), and the
      // refusal rolls the number taken back with it: no read ahead of the insert is needed.
      const reportsTo = input.reports_to === undefined ? null : await checkManager(trx, caller, null, input.reports_to);
      // Takes the org's next number: from here to the commit, other creates in this org wait.
      const row = await insertDevUser(trx, { ...fields, reports_to_id: reportsTo });
      const after = await hydrateOne(trx, caller, row, []); // a user made just now holds no identities yet
      await journal.record({ operation: "dev_users.create", object: { type: "dev_user", id: row.number }, after });
      return after;
    });
  } catch (err) {
    if (uniqueViolation(err) === "org_email") {
      throw new ApiError("conflict", `a dev user with email ${email} already exists`);
    }
    throw err;
  }
}

export async function updateDevUserById(deps: Deps, caller: Caller, input: UpdateInput): Promise<WireDevUser> {
  const { id: _id, staged_info: _staged, role, ...fields } = input;
  // Nobody changes a role, not even their own, without being an admin.
  if (role !== undefined) requireAdmin(caller);
  return journalled(deps, caller, async (trx, journal) => {
    const row = await loadUser(trx, caller, input.id, "id");
    if (row.id !== caller.userId) requireAdmin(caller);
    const now = deps.now();
    const changed = role === undefined ? undefined : await changeRole(trx, journal, caller, row, role, now);
    if (role === undefined || Object.values(fields).some((v) => v !== undefined)) {
      return applyUpdate(trx, journal, caller, changed?.row ?? row, input, now, "dev_users.update");
    }
    if (changed) return changed.wire;
    journal.unchanged();
    return hydrateOne(trx, caller, row, await identitiesOfUsers(trx, [row.id]));
  });
}

export async function updateSelf(deps: Deps, caller: Caller, input: UpdateFields): Promise<WireDevUser> {
  return journalled(deps, caller, async (trx, journal) => {
    const row = await findDevUser(trx, caller.orgId, caller.userId);
    assertThat(row, () => notFound("dev user"));
    return applyUpdate(trx, journal, caller, row, input, deps.now(), "dev_users.self.update");
  });
}

async function applyUpdate(
  trx: Kysely<Database>,
  journal: Journal,
  caller: Caller,
  row: DevUserRow,
  input: UpdateFields,
  now: string,
  operation: "dev_users.update" | "dev_users.self.update",
): Promise<WireDevUser> {
  const patch = await buildPatch(trx, caller, row, input, now);
  const updated = await updateDevUserInOrg(trx, caller.orgId, row.id, patch);
  assertThat(updated, () => notFound("dev user"));
  return recordUserChange(trx, journal, caller, operation, row, updated);
}

async function setState(deps: Deps, caller: Caller, id: string, state: "active" | "deactivated"): Promise<void> {
  requireAdmin(caller);
  await journalled(deps, caller, async (trx, journal) => {
    const row = await loadUser(trx, caller, id, "id");
    if (row.state === state) return journal.unchanged();
    const mark = { modified_date: deps.now(), modified_by_id: caller.userId };
    if (state === "active") await updateDevUser(trx, row.id, { ...mark, state });
    else {
      await assertAdminRemains(trx, caller.orgId, row, "id");
      await deactivateDevUserRow(trx, row.id, mark);
    }
    const after = await findDevUser(trx, caller.orgId, row.id);
    assertThat(after, () => notFound("dev user"));
    await recordUserChange(
      trx,
      journal,
      caller,
      `dev_users.${state === "active" ? "activate" : "deactivate"}`,
      row,
      after,
    );
  });
}

export const activateDevUser = (deps: Deps, caller: Caller, id: string) => setState(deps, caller, id, "active");
export const deactivateDevUser = (deps: Deps, caller: Caller, id: string) => setState(deps, caller, id, "deactivated");

export async function mergeDevUsers(deps: Deps, caller: Caller, primaryRef: string, secondaryRef: string) {
  requireAdmin(caller);
  try {
    await journalled(deps, caller, async (trx, journal) => {
      await lockOrg(trx, caller.orgId); // merges in opposite directions would deadlock
      const primary = await loadUser(trx, caller, primaryRef, "primary_user");
      const secondary = await loadUser(trx, caller, secondaryRef, "secondary_user");
      assertThat(
        primary.id !== secondary.id,
        valueNotPermitted("secondary_user", "cannot merge a dev user with itself"),
      );
      await assertAdminRemains(trx, caller.orgId, secondary, "secondary_user");
      const now = deps.now();
      // Lock both users, in id order, before reading their identities: a link to either one
      // (which locks its user first) then waits for the merge instead of crossing it.
      const mark = { modified_date: now, modified_by_id: caller.userId };
      for (const id of [primary.id, secondary.id].sort((a, b) => a - b)) {
        if (id === secondary.id) await deactivateDevUserRow(trx, id, mark);
        else await updateDevUser(trx, id, mark);
      }
      const identities = await identitiesOfUsers(trx, [primary.id, secondary.id]);
      const held = new Set(identities.filter((i) => i.dev_user_id === primary.id).map((i) => i.issuer));
      for (const i of identities) {
        assertThat(
          i.dev_user_id !== secondary.id || !held.has(i.issuer),
          valueNotPermitted("secondary_user", `both users hold a different identity from issuer "${i.issuer}"`),
        );
      }
      await moveIdentities(trx, secondary.id, primary.id);
      await moveReports(trx, secondary.id, primary.id, mark);
      // The secondary's reports now report to the primary; if one of them is above the primary,
      // that closes a loop.
      const chain = await managerChain(trx, primary.id, MAX_CHAIN);
      assertThat(
        !chain.includes(primary.id),
        valueNotPermitted("secondary_user", "merging would make a reporting cycle through the primary user"),
      );
      const primaryAfter = await findDevUser(trx, caller.orgId, primary.id);
      const secondaryAfter = await findDevUser(trx, caller.orgId, secondary.id);
      assertThat(primaryAfter && secondaryAfter, () => notFound("dev user"));
      const of = (id: number) => identities.filter((i) => i.dev_user_id === id);
      const moved = [...identities].sort((a, b) => a.id - b.id);
      await journal.record({
        operation: "dev_users.merge",
        object: { type: "dev_user", id: primary.number },
        relatedId: secondary.number,
        before: await hydrateOne(trx, caller, primary, of(primary.id)),
        after: await hydrateOne(trx, caller, primaryAfter, moved),
        details: {
          secondary_user: {
            before: await hydrateOne(trx, caller, secondary, of(secondary.id)),
            after: await hydrateOne(trx, caller, secondaryAfter, []),
          },
        },
      });
    });
  } catch (err) {
    // A link that raced into the primary between our check and the move.
    if (uniqueViolation(err) === "user_issuer") {
      throw valueNotPermitted("secondary_user", "both users hold a different identity from one issuer");
    }
    throw err;
  }
}
