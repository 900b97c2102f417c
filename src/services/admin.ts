// Operations the CLI (and the test harness) perform on the directory, outside any request.

import type { Kysely } from "kysely";
import {
  countDevUsers,
  countOtherActiveAdmins,
  findDevUser,
  findDevUserByEmail,
  insertDevUser,
  updateDevUser,
} from "../db/repositories/dev-users.js";
import { identitiesOfUsers } from "../db/repositories/identities.js";
import { ensureOrg, lockOrg } from "../db/repositories/orgs.js";
import type { Database, DevUserRow } from "../db/types.js";
import type { Caller, Deps } from "./context.js";
import { hydrateOne } from "./hydrate.js";
import { type Journal, journalled, type Operation } from "./journal.js";
import type { KeyRing } from "./keys.js";
import { lastAdminReason } from "./policy.js";
import { requestedScopes } from "./scopes.js";
import { endActAsTokensOf, recordToken, type TokenMaker } from "./token-records.js";

export class AdminError extends Error {}

export interface IssueTokenInput {
  email: string;
  org: string;
  ttlSeconds: number;
  /**
   * Creates an active user with this email when the org has none (the test harness). Without it,
   * only an empty org's first user is created: that is how a new directory gets its first token.
   */
  createIfMissing?: boolean;
  /** Gives the user this role first, if it has another. */
  role?: "admin" | "member";
  /** Mints nothing unless the org is empty. */
  onlyInEmptyOrg?: boolean;
  /** Space-separated scopes (services/scopes.ts); the user's full rights when absent. */
  scope?: string;
  /** The token's label, as auth-tokens.create's token_hint. */
  hint?: string;
  /** A personal token (the default), or a sign-in link's one-time token (services/token-exchange.ts). */
  type?: "pat" | "session:onetime";
}

/** Mints a token for an active user of an org; an empty org's first user is made its admin. */
export async function issueToken(
  deps: Deps,
  keys: KeyRing,
  input: IssueTokenInput,
  actor: TokenMaker = { type: "cli" },
): Promise<string> {
  const token = await issue(deps, keys, { ...input, onlyInEmptyOrg: false }, actor);
  if (token === undefined) throw new Error("no token was minted");
  return token;
}

/**
 * DEVUSERS_BOOTSTRAP_ADMIN: an empty org gets this admin and its token; an org with users gets
 * nothing, so the token is handed out once, even when several instances start together.
 */
export function bootstrapToken(
  deps: Deps,
  keys: KeyRing,
  input: { email: string; org: string; ttlSeconds: number },
): Promise<string | undefined> {
  return issue(deps, keys, { ...input, role: "admin", onlyInEmptyOrg: true }, { type: "system" });
}

/** The user is made or changed, and the token minted and journalled, in one transaction. */
async function issue(
  deps: Deps,
  keys: KeyRing,
  input: IssueTokenInput,
  actor: TokenMaker,
): Promise<string | undefined> {
  // The key is read before the transaction: on SQLite the transaction holds the one writer
  // connection, which the key ring's own read would wait for.
  const signing = await keys.signingKey();
  const signer = { signingKey: async () => signing };
  return journalled(deps, { actor }, async (trx, journal) => {
    const now = deps.now();
    const found = await tokenUser(trx, now, input, journal);
    if (!found) return journal.unchanged();
    const role = found.user.role === "admin" ? "admin" : "member";
    let scopes: string | null;
    try {
      scopes = requestedScopes(input.scope, role, undefined);
    } catch (err) {
      throw new AdminError(err instanceof Error ? err.message : String(err));
    }
    const spec = {
      orgId: found.orgId,
      org: input.org,
      subject: found.user,
      type: input.type ?? "pat",
      scopes,
      hint: input.hint,
      ttlSeconds: input.ttlSeconds,
      createdBy: actor,
    };
    return (await recordToken(trx, journal, signer, spec, now)).token;
  });
}

/**
 * Makes sure `email` is an active admin of its org, creating the user if needed, and mints
 * nothing: how a reset brings its harness's admin back, whose existing token then works again.
 */
export async function ensureAdmin(deps: Deps, input: { email: string; org: string }): Promise<void> {
  await journalled(deps, { actor: { type: "system" } }, async (trx, journal) => {
    await tokenUser(trx, deps.now(), { ...input, role: "admin", createIfMissing: true }, journal);
  });
}

/** A caller standing for the CLI or the service itself, for turning rows into wire objects. */
const serviceCaller = (orgId: number, org: string): Caller => ({ userId: 0, orgId, org, role: "admin" });

/** Journals a change to a user the CLI made, with the user before (if any) and after. */
async function recordAdminChange(
  trx: Kysely<Database>,
  journal: Journal,
  org: { id: number; slug: string },
  operation: Operation,
  before: DevUserRow | undefined,
  afterId: number,
): Promise<DevUserRow> {
  const after = await findDevUser(trx, org.id, afterId);
  if (!after) throw new Error(`dev user ${afterId} vanished in its own transaction`);
  const caller = serviceCaller(org.id, org.slug);
  const held = await identitiesOfUsers(trx, [afterId]);
  await journal.record({
    operation,
    orgId: org.id,
    object: { type: "dev_user", id: after.number },
    before: before && (await hydrateOne(trx, caller, before, held)),
    after: await hydrateOne(trx, caller, after, held),
  });
  return after;
}

/** The active user a token would be minted for, made or changed as `input` asks. */
async function tokenUser(
  trx: Kysely<Database>,
  now: string,
  input: Omit<IssueTokenInput, "ttlSeconds">,
  journal: Journal,
): Promise<{ user: DevUserRow; orgId: number } | undefined> {
  const org = await ensureOrg(trx, input.org, now);
  // Two first `token create`s on an empty org must not both make an admin.
  await lockOrg(trx, org.id);
  if (input.onlyInEmptyOrg && (await countDevUsers(trx, org.id)) > 0) return undefined;
  const existing = await findDevUserByEmail(trx, org.id, input.email);
  if (existing) {
    if (existing.state !== "active") {
      throw new AdminError(
        `${input.email} is ${existing.state}, and only active users can use a token; activate it first (dev-users.activate)`,
      );
    }
    if (input.role === undefined || input.role === existing.role) {
      journal.unchanged();
      return { user: existing, orgId: org.id };
    }
    if (input.role === "member") await assertAnotherAdmin(trx, org.id, existing);
    await updateDevUser(trx, existing.id, { role: input.role, modified_date: now });
    if (input.role === "member") await endActAsTokensOf(trx, journal, org, existing.number, now);
    const user = await recordAdminChange(trx, journal, org, "dev_users.role.set", existing, existing.id);
    return { user, orgId: org.id };
  }
  const first = (await countDevUsers(trx, org.id)) === 0;
  if (!first && !input.createIfMissing) {
    throw new AdminError(
      `no dev user with email ${input.email} in org ${input.org}; create it through the API (dev-users.create), activate it, then ask again`,
    );
  }
  if (first && input.role === "member") {
    throw new AdminError(`${input.email} would be the first user of org ${input.org}, and the first is its admin`);
  }
  const row = await insertDevUser(trx, {
    org_id: org.id,
    email: input.email,
    email_lower: input.email.toLowerCase(),
    display_name: input.email.split("@")[0]!,
    full_name: "",
    state: "active",
    role: first ? "admin" : (input.role ?? "member"),
    created_date: now,
    modified_date: now,
  });
  await updateDevUser(trx, row.id, { created_by_id: row.id, modified_by_id: row.id });
  const user = await recordAdminChange(trx, journal, org, "dev_users.create", undefined, row.id);
  return { user, orgId: org.id };
}

/** Demoting or removing `user` must leave its org another active admin. */
async function assertAnotherAdmin(trx: Kysely<Database>, orgId: number, user: DevUserRow): Promise<void> {
  const lastAdmin = user.role === "admin" && user.state === "active";
  if (lastAdmin && (await countOtherActiveAdmins(trx, orgId, user.id)) === 0) {
    throw new AdminError(lastAdminReason(user.email));
  }
}

export async function setRole(deps: Deps, input: { email: string; org: string; role: "admin" | "member" }) {
  const now = deps.now();
  await journalled(deps, { actor: { type: "cli" } }, async (trx, journal) => {
    const org = await ensureOrg(trx, input.org, now);
    const user = await findDevUserByEmail(trx, org.id, input.email);
    if (!user) throw new AdminError(`no dev user with email ${input.email} in org ${input.org}`);
    if (user.role === input.role) return journal.unchanged();
    if (input.role !== "admin") {
      await lockOrg(trx, org.id);
      await assertAnotherAdmin(trx, org.id, user);
    }
    await updateDevUser(trx, user.id, { role: input.role, modified_date: now });
    await recordAdminChange(trx, journal, org, "dev_users.role.set", user, user.id);
    if (input.role !== "admin") await endActAsTokensOf(trx, journal, org, user.number, now);
  });
}
