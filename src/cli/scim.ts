// devusers scim ...: the CLI's side of an org's SCIM connections (services/scim-connections.ts).
import type { Db } from "../db/database.js";
import { ApiError } from "../errors.js";
import { AdminError } from "../services/admin.js";
import { systemClock } from "../services/context.js";
import { type CreateScimConnectionInput, cliScimConnections } from "../services/scim-connections.js";

const depsOf = (db: Db) => ({ db, now: systemClock });

/** The service's refusals (a duplicate issuer, an unknown one) as one line, not a stack trace. */
async function told<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ApiError) throw new AdminError(err.message);
    throw err;
  }
}

/** Makes a connection and returns its token. */
export async function createScimConnection(db: Db, org: string, input: CreateScimConnectionInput): Promise<string> {
  const made = await told(() => cliScimConnections.create(depsOf(db), org, input));
  return made.token!;
}

/** One line a connection: issuer, id, default role, enabled or disabled, token status. */
export async function listScimConnections(db: Db, org: string): Promise<string[]> {
  const all = await cliScimConnections.list(depsOf(db), org);
  return all.map((c) =>
    [
      c.issuer,
      c.id,
      `default_role=${c.default_role}`,
      c.enabled ? "enabled" : "disabled",
      `token=${c.token_status}`,
    ].join("\t"),
  );
}

/** Changes a connection; returns its new token when one was made. */
export async function updateScimConnection(
  db: Db,
  org: string,
  issuer: string,
  changes: { enabled?: boolean; rotate_token?: boolean; revoke_token?: boolean },
): Promise<string | undefined> {
  return (await told(() => cliScimConnections.update(depsOf(db), org, issuer, changes))).token;
}

export async function deleteScimConnection(db: Db, org: string, issuer: string): Promise<void> {
  await told(() => cliScimConnections.delete(depsOf(db), org, issuer));
}
