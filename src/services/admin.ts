// Operations the CLI (and the test harness) perform on the directory, outside any request.
import type { Kysely } from "kysely";
import {
  countDevUsers,
  countOtherActiveAdmins,
  findDevUserByEmail,
  insertDevUser,
  updateDevUser,
} from "../db/repositories/dev-users.js";
import { ensureOrg, lockOrg } from "../db/repositories/orgs.js";
import type { Database, DevUserRow } from "../db/types.js";
import { mintToken } from "./auth.js";
import type { Deps } from "./context.js";
import type { KeyRing } from "./keys.js";

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
}

/** Mints a token for an active user of an org; an empty org's first user is made its admin. */
export async function issueToken(deps: Deps, keys: KeyRing, input: IssueTokenInput): Promise<string> {
  const token = await issue(deps, keys, { ...input, onlyInEmptyOrg: false });
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
  return issue(deps, keys, { ...input, role: "admin", onlyInEmptyOrg: true });
}

async function issue(deps: Deps, keys: KeyRing, input: IssueTokenInput): Promise<string | undefined> {
  const user = await tokenUser(deps, input);
  return user && mintToken(keys, user, input.org, input.ttlSeconds);
}

/**
 * Makes sure `email` is an active admin of its org, creating the user if needed, and mints
 * nothing: how a reset brings its harness's admin back, whose existing token then works again.
 */
export async function ensureAdmin(deps: Deps, input: { email: string; org: string }): Promise<void> {
  await tokenUser(deps, { ...input, role: "admin", createIfMissing: true });
}

/** The active user a token would be minted for, made or changed as `input` asks. */
async function tokenUser(deps: Deps, input: Omit<IssueTokenInput, "ttlSeconds">): Promise<DevUserRow | undefined> {
  const db = deps.db.kysely;
  const now = deps.now();
  const user = await db.transaction().execute(async (trx) => {
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
      if (input.role === undefined || input.role === existing.role) return existing;
      if (input.role === "member") await assertAnotherAdmin(trx, org.id, existing);
      await updateDevUser(trx, existing.id, { role: input.role, modified_date: now });
      return { ...existing, role: input.role };
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
    return row;
  });
  return user;
}

/** Demoting or removing `user` must leave its org another active admin. */
async function assertAnotherAdmin(trx: Kysely<Database>, orgId: number, user: DevUserRow): Promise<void> {
  const lastAdmin = user.role === "admin" && user.state === "active";
  if (lastAdmin && (await countOtherActiveAdmins(trx, orgId, user.id)) === 0) {
    throw new AdminError(`${user.email} is the org's last active admin; make another admin first`);
  }
}

export async function setRole(deps: Deps, input: { email: string; org: string; role: "admin" | "member" }) {
  const db = deps.db.kysely;
  const now = deps.now();
  await db.transaction().execute(async (trx) => {
    const org = await ensureOrg(trx, input.org, now);
    const user = await findDevUserByEmail(trx, org.id, input.email);
    if (!user) throw new AdminError(`no dev user with email ${input.email} in org ${input.org}`);
    if (input.role !== "admin") {
      await lockOrg(trx, org.id);
      await assertAnotherAdmin(trx, org.id, user);
    }
    await updateDevUser(trx, user.id, { role: input.role, modified_date: now });
  });
}
