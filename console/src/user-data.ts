// What the user and merge pages share: reading one user by the id a route names (DEVU-12, a DON,
// or for the merge page's secondary an email), and naming a user by its number from a DON.
import { ApiFailure, call, type DevUser } from "./api";

export type RoledUser = DevUser & { role?: string };

export async function getUser(id: string): Promise<RoledUser> {
  const { dev_user } = await call<{ dev_user: RoledUser }>("dev-users.get", {
    id: /^devu-\d+$/i.test(id) ? id.toUpperCase() : id,
  });
  return dev_user;
}

/** A user by email, DEVU id or DON; undefined when there is none. */
export async function findUser(text: string): Promise<RoledUser | undefined> {
  const q = text.trim();
  if (!q) return undefined;
  if (/^(devu-\d+|don:identity:.+)$/i.test(q)) {
    try {
      return await getUser(q);
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 404) return undefined;
      throw err;
    }
  }
  const { dev_users } = await call<{ dev_users: RoledUser[] }>("dev-users.list", { email: [q], limit: 1 });
  return dev_users[0];
}

/** `DEVU-2` for `don:identity:…:devu/2`, so a link reads like the rest of the console. */
export function displayIdOf(don: string): string {
  const m = /devu\/(\d+)$/.exec(don);
  return m ? `DEVU-${m[1]}` : don;
}
