// Operations the CLI performs on the directory, outside any request.
import {
  countDevUsers,
  countOtherActiveAdmins,
  findDevUserByEmail,
  insertDevUser,
  updateDevUser,
} from "../db/repositories/dev-users.js";
import { ensureOrg, lockOrg } from "../db/repositories/orgs.js";
import { mintToken } from "./auth.js";
import type { Deps } from "./context.js";
import type { KeyRing } from "./keys.js";

export class AdminError extends Error {}

export interface IssueTokenInput {
  email: string;
  org: string;
  ttlSeconds: number;
}

/**
 * Mints a token for a user of an org. An org with no users yet gets this user first, as an
 * active admin: that is how a new directory gets its first token.
 */
export async function issueToken(deps: Deps, keys: KeyRing, input: IssueTokenInput): Promise<string> {
  const db = deps.db.kysely;
  const now = deps.now();
  const user = await db.transaction().execute(async (trx) => {
    const org = await ensureOrg(trx, input.org, now);
    // Two first `token create`s on an empty org must not both make an admin.
    await lockOrg(trx, org.id);
    const existing = await findDevUserByEmail(trx, org.id, input.email);
    if (existing) {
      if (existing.state !== "active") {
        throw new AdminError(
          `${input.email} is ${existing.state}, and only active users can use a token; activate it first (dev-users.activate)`,
        );
      }
      return existing;
    }
    if ((await countDevUsers(trx, org.id)) > 0) {
      throw new AdminError(
        `no dev user with email ${input.email} in org ${input.org}; create it through the API (dev-users.create), activate it, then ask again`,
      );
    }
    const row = await insertDevUser(trx, {
      org_id: org.id,
      email: input.email,
      email_lower: input.email.toLowerCase(),
      display_name: input.email.split("@")[0]!,
      full_name: "",
      state: "active",
      role: "admin",
      created_date: now,
      modified_date: now,
    });
    await updateDevUser(trx, row.id, { created_by_id: row.id, modified_by_id: row.id });
    return row;
  });
  return mintToken(keys, user, input.org, input.ttlSeconds);
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
      const lastAdmin = user.role === "admin" && user.state === "active";
      if (lastAdmin && (await countOtherActiveAdmins(trx, org.id, user.id)) === 0) {
        throw new AdminError(`${input.email} is the org's last active admin; make another admin first`);
      }
    }
    await updateDevUser(trx, user.id, { role: input.role, modified_date: now });
  });
}
