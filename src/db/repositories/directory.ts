import type { Kysely } from "kysely";
import type { Database } from "../types.js";

/**
 * Removes every user and identity of every org (and what SCIM connections kept of them), and starts each org's numbering again. Orgs and
 * signing keys stay: an org's id is remembered by running services, and keys sign live tokens.
 */
export async function deleteAllUsers(db: Kysely<Database>): Promise<void> {
  // What SCIM connections keep of users goes with them; the connections themselves stay, like tokens.
  await db.deleteFrom("scim_user_attributes").execute();
  await db.deleteFrom("external_identities").execute();
  await db.deleteFrom("dev_user_phone_numbers").execute();
  // Managers first, so no row still points at one being removed.
  await db.updateTable("dev_users").set({ reports_to_id: null }).execute();
  await db.deleteFrom("dev_users").execute();
  // Each org's next user is its DEVU-1 again.
  await db.updateTable("orgs").set({ next_user_number: 1 }).execute();
}
