// `devusers load` and the harness's load(): users added from a file in one transaction, so a
// file loads whole or not at all. Records stream through in batches; what must outlive a batch
// (where each new user came from, references to users later in the file) waits in TEMP tables
// (src/db/repositories/import.ts), so memory stays flat whatever the file's size.
import type { Kysely } from "kysely";
import {
  applyRefs,
  badRef,
  counterPast,
  createImportTables,
  cycleStart,
  dropImportTables,
  type Found,
  hasActiveAdmin,
  type ImportRow,
  identityOwner,
  idsByEmail,
  idsByNumber,
  insertIdentities,
  insertPhones,
  insertRefs,
  insertUsers,
  insertWheres,
  mismatchedRef,
  type NewIdentity,
  type PendingRef,
  type RefField,
  resolveRefs,
  usersByEmail,
  usersByNumber,
} from "../db/repositories/import.js";
import { allocateUserNumbers, ensureOrg } from "../db/repositories/orgs.js";
import { refreshPlannerStatistics } from "../db/repositories/statistics.js";
import type { Database } from "../db/types.js";
import type { Deps } from "./context.js";
import { differingField, named } from "./import-compare.js";
import { FixtureError, type ImportUser, type UserRef } from "./import-types.js";
import { type Actor, journalled } from "./journal.js";

/** Records per round of statements: a few hundred keeps every statement's variables bounded. */
export const IMPORT_BATCH = 500;
/** As far up a chain of managers as the API's own cycle check looks. */
const MAX_CHAIN = 1000;
const REF_FIELDS: RefField[] = ["reports_to", "created_by", "modified_by"];
const LEAVES = "load adds users and leaves existing ones as they are";

export interface ImportSummary {
  org: string;
  /** Users the load made. */
  created: number;
  /** Records that describe a user as it already was (a second load of the same file). */
  unchanged: number;
  /** What the load allowed but later API writes will mind: an org left without an active admin. */
  warnings: string[];
}

interface Run {
  trx: Kysely<Database>;
  orgId: number;
  now: string;
  created: number;
  unchanged: number;
}

const lower = (email: string) => email.toLowerCase();
const refText = (ref: UserRef) => ("number" in ref ? `DEVU-${ref.number}` : ref.email);

const refsGiven = (u: ImportUser) => ({ reports_to: u.reportsTo, created_by: u.createdBy, modified_by: u.modifiedBy });

function pending(u: ImportUser, userId: number, field: RefField, ref: UserRef, mode: "set" | "check"): PendingRef {
  return {
    dev_user_id: userId,
    field,
    mode,
    ref_number: "number" in ref ? ref.number : null,
    ref_email_lower: "email" in ref ? lower(ref.email) : null,
    ref_text: refText(ref),
    where_: u.where,
  };
}

function refsOf(u: ImportUser, userId: number, mode: "set" | "check"): PendingRef[] {
  const out: PendingRef[] = [];
  for (const [field, ref] of Object.entries(refsGiven(u)) as [RefField, UserRef | undefined][]) {
    if (ref !== undefined) out.push(pending(u, userId, field, ref, mode));
  }
  return out;
}

/** Users the references of a batch name that exist already; the others wait for finish(). */
async function knownTargets(run: Run, users: ImportUser[]) {
  const numbers = new Set<number>();
  const emails = new Set<string>();
  for (const u of users) {
    for (const ref of Object.values(refsGiven(u))) {
      if (ref === undefined) continue;
      if ("number" in ref) numbers.add(ref.number);
      else emails.add(lower(ref.email));
    }
  }
  const byNumber = await idsByNumber(run.trx, run.orgId, [...numbers]);
  const byEmail = await idsByEmail(run.trx, run.orgId, [...emails]);
  return (ref: UserRef | undefined) =>
    ref === undefined ? null : (("number" in ref ? byNumber.get(ref.number) : byEmail.get(lower(ref.email))) ?? null);
}

function rowOf(
  u: ImportUser,
  orgId: number,
  number: number,
  now: string,
  target: (r?: UserRef) => number | null,
): ImportRow {
  const created = u.createdDate ?? now;
  return {
    org_id: orgId,
    number,
    email: u.email,
    email_lower: lower(u.email),
    display_name: u.displayName,
    full_name: u.fullName,
    state: u.state,
    role: u.role,
    job_title: u.jobTitle,
    experience_start_date: u.experienceStartDate,
    reports_to_id: target(u.reportsTo),
    custom_fields: u.customFields,
    job_history: u.jobHistory,
    availability_modes: u.availabilityModes,
    skills: u.skills,
    phone_numbers: JSON.stringify(u.phoneNumbers),
    timezone: u.timezone,
    created_by_id: target(u.createdBy),
    modified_by_id: target(u.modifiedBy),
    created_date: created,
    modified_date: u.modifiedDate ?? created,
  };
}

/** Leaves an existing user alone if the record describes it as it is; refuses the file if not. */
function keep(run: Run, u: ImportUser, found: Found, refs: PendingRef[]): void {
  const field = differingField(u, found);
  if (field !== undefined) {
    throw new FixtureError(`${u.where}: ${u.email} already exists as ${named(found)} with another ${field}; ${LEAVES}`);
  }
  // References are compared once every user of the file exists (finish()).
  refs.push(...refsOf(u, found.row.id, "check"));
  run.unchanged++;
}

/** Numbers for the users a batch makes: their own display ids, else the org's next ones. */
async function numberUsers(run: Run, users: ImportUser[]): Promise<number[]> {
  const byNumber = new Map<number, ImportUser>();
  for (const u of users) {
    if (u.number === undefined) continue;
    const other = byNumber.get(u.number);
    if (other) {
      throw new FixtureError(
        `${u.where}: display_id: DEVU-${u.number} is also ${other.email} (${other.where}); a number names one user`,
      );
    }
    byNumber.set(u.number, u);
  }
  const holders = await usersByNumber(run.trx, run.orgId, [...byNumber.keys()]);
  for (const h of holders) {
    const u = byNumber.get(h.row.number)!;
    throw new FixtureError(
      `${u.where}: display_id: DEVU-${h.row.number} is already ${h.row.email}${h.where ? ` (${h.where})` : ""}, not ${u.email}`,
    );
  }
  if (byNumber.size > 0) await counterPast(run.trx, run.orgId, Math.max(...byNumber.keys()));
  const implicit = users.length - byNumber.size;
  let next = implicit > 0 ? await allocateUserNumbers(run.trx, run.orgId, implicit) : 0;
  return users.map((u) => u.number ?? next++);
}

async function createUsers(run: Run, users: ImportUser[], refs: PendingRef[]): Promise<void> {
  if (users.length === 0) return;
  const numbers = await numberUsers(run, users);
  // Managers and creators met before (most of them, in a file written in number order) are
  // written with the row; only references to users not yet made wait in the TEMP table.
  const target = await knownTargets(run, users);
  const ids = await insertUsers(
    run.trx,
    users.map((u, i) => rowOf(u, run.orgId, numbers[i]!, run.now, target)),
  );
  const idOf = (u: ImportUser) => ids.get(lower(u.email))!;
  await insertWheres(
    run.trx,
    users.map((u) => [idOf(u), u.where]),
  );
  await insertPhones(
    run.trx,
    users.flatMap((u) => u.phoneNumbers.map((phone): [number, string] => [idOf(u), phone])),
  );
  const identities: NewIdentity[] = users.flatMap((u) =>
    u.identities.map((i) => ({
      org_id: run.orgId,
      dev_user_id: idOf(u),
      issuer: i.issuer,
      external_id: i.externalId,
      display_name: i.displayName,
      is_verified: i.isVerified ? 1 : 0,
      created_date: u.createdDate ?? run.now,
    })),
  );
  const refused = await insertIdentities(run.trx, identities);
  if (refused.length > 0) await identityConflict(run, users, refused[0]!, idOf);
  for (const u of users) {
    for (const [field, ref] of Object.entries(refsGiven(u)) as [RefField, UserRef | undefined][]) {
      if (ref !== undefined && target(ref) === null) refs.push(pending(u, idOf(u), field, ref, "set"));
    }
  }
  run.created += users.length;
}

async function identityConflict(
  run: Run,
  users: ImportUser[],
  refused: NewIdentity,
  idOf: (u: ImportUser) => number,
): Promise<never> {
  const u = users.find((x) => idOf(x) === refused.dev_user_id)!;
  const k = u.identities.findIndex((i) => i.issuer === refused.issuer);
  const owner = await identityOwner(run.trx, run.orgId, refused.issuer, refused.external_id);
  const whose = owner ? `${owner.row.email} (${named(owner)})` : "another user";
  throw new FixtureError(
    `${u.where}: external_identities[${k}]: ${refused.issuer} identity ${refused.external_id} already belongs to ${whose}`,
  );
}

async function importBatch(run: Run, batch: ImportUser[]): Promise<void> {
  // The first record of an email in the batch decides; later ones are compared once it exists.
  const first = new Map<string, ImportUser>();
  const later: ImportUser[] = [];
  for (const u of batch) {
    if (first.has(lower(u.email))) later.push(u);
    else first.set(lower(u.email), u);
  }
  const existing = new Map(
    (await usersByEmail(run.trx, run.orgId, [...first.keys()])).map((f) => [f.row.email_lower, f]),
  );
  const refs: PendingRef[] = [];
  const fresh: ImportUser[] = [];
  for (const [email, u] of first) {
    const found = existing.get(email);
    if (found) keep(run, u, found, refs);
    else fresh.push(u);
  }
  await createUsers(run, fresh, refs);
  if (later.length > 0) {
    const now = new Map(
      (
        await usersByEmail(
          run.trx,
          run.orgId,
          later.map((u) => lower(u.email)),
        )
      ).map((f) => [f.row.email_lower, f]),
    );
    for (const u of later) keep(run, u, now.get(lower(u.email))!, refs);
  }
  await insertRefs(run.trx, refs);
}

/** Resolves, checks and writes the references of the whole file, now that all its users exist. */
async function finish(run: Run, org: string): Promise<void> {
  await resolveRefs(run.trx, run.orgId);
  const bad = await badRef(run.trx);
  if (bad) {
    throw new FixtureError(
      bad.self
        ? `${bad.where_}: reports_to: a dev user cannot report to itself`
        : `${bad.where_}: ${bad.field}: no user ${bad.ref_text} in org ${org}, neither in the file nor in the database`,
    );
  }
  for (const field of REF_FIELDS) {
    const m = await mismatchedRef(run.trx, field);
    if (m) {
      throw new FixtureError(
        `${m.where_}: ${m.email} already exists as DEVU-${m.number} with another ${field} than ${m.ref_text}; ${LEAVES}`,
      );
    }
    await applyRefs(run.trx, field);
  }
  const cycle = await cycleStart(run.trx, MAX_CHAIN);
  if (cycle) throw new FixtureError(`${cycle}: reports_to: this would make a reporting cycle`);
}

/** A load this large refreshes PostgreSQL's planner statistics before it returns. */
const STATISTICS_AFTER = 1000;

/**
 * Adds the users of `records` to `org` (made if needed) in one transaction: all of them, or,
 * at the first record that cannot be loaded, none.
 */
export async function importUsers(
  deps: Deps,
  org: string,
  records: AsyncIterable<ImportUser>,
  actor: Actor = { type: "cli" },
): Promise<ImportSummary> {
  const summary = await journalled(deps, { actor }, async (trx, journal) => {
    const now = deps.now();
    const orgRow = await ensureOrg(trx, org, now);
    const run: Run = { trx, orgId: orgRow.id, now, created: 0, unchanged: 0 };
    await createImportTables(trx);
    let batch: ImportUser[] = [];
    for await (const u of records) {
      batch.push(u);
      if (batch.length < IMPORT_BATCH) continue;
      await importBatch(run, batch);
      batch = [];
    }
    if (batch.length > 0) await importBatch(run, batch);
    await finish(run, org);
    await dropImportTables(trx);
    const warnings: string[] = [];
    if (!(await hasActiveAdmin(trx, run.orgId))) {
      warnings.push(
        `org ${org} has no active admin: API writes need one (devusers role set, or load one with role admin)`,
      );
    }
    // One entry for the whole load: a million users load in one transaction, and a journal entry
    // (and webhook event) per user would double its cost. Loaded users are in the org's export.
    if (run.created === 0) journal.unchanged();
    else {
      await journal.record({
        operation: "directory.load",
        orgId: run.orgId,
        object: { type: "org", id: run.orgId },
        details: { created: run.created, unchanged: run.unchanged },
      });
    }
    return { org, created: run.created, unchanged: run.unchanged, warnings };
  });
  if (summary.created >= STATISTICS_AFTER) await refreshPlannerStatistics(deps.db.kysely);
  return summary;
}
