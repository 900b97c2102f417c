// Webhook rows: made, read, changed and removed within one org.
import type { Kysely } from "kysely";
import type { Database, WebhookPatch, WebhookRow } from "../types.js";

export type NewWebhookFields = Omit<
  WebhookRow,
  | "id"
  | "number"
  | "consecutive_failures"
  | "failing_since"
  | "last_error"
  | "paused_until"
  | "verify_challenge"
  | "verify_deadline"
> &
  Partial<Pick<WebhookRow, "verify_challenge" | "verify_deadline">>;

/**
 * Inserts a webhook with the org's next number. Taking the number locks the org's row (PostgreSQL)
 * until the transaction ends, so numbers are handed out in commit order and never twice.
 */
export async function insertWebhook(db: Kysely<Database>, row: NewWebhookFields): Promise<WebhookRow> {
  const taken = await db
    .updateTable("orgs")
    .set((eb) => ({ next_webhook_number: eb("next_webhook_number", "+", 1) }))
    .where("id", "=", row.org_id)
    .returning("next_webhook_number")
    .executeTakeFirstOrThrow();
  const number = Number(taken.next_webhook_number) - 1;
  return db
    .insertInto("webhooks")
    .values({ ...row, number })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findWebhookByNumber(
  db: Kysely<Database>,
  orgId: number,
  number: number,
): Promise<WebhookRow | undefined> {
  return db
    .selectFrom("webhooks")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("number", "=", number)
    .executeTakeFirst();
}

export function findWebhook(db: Kysely<Database>, id: number): Promise<WebhookRow | undefined> {
  return db.selectFrom("webhooks").selectAll().where("id", "=", id).executeTakeFirst();
}

export function listWebhooks(db: Kysely<Database>, orgId: number): Promise<WebhookRow[]> {
  return db.selectFrom("webhooks").selectAll().where("org_id", "=", orgId).orderBy("number").execute();
}

export function updateWebhook(db: Kysely<Database>, id: number, patch: WebhookPatch): Promise<WebhookRow | undefined> {
  return db.updateTable("webhooks").set(patch).where("id", "=", id).returningAll().executeTakeFirst();
}

export async function deleteWebhook(db: Kysely<Database>, id: number): Promise<void> {
  // Its deliveries go with it (the foreign key cascades too; this says so where it happens).
  await db.deleteFrom("webhook_deliveries").where("webhook_id", "=", id).execute();
  await db.deleteFrom("webhooks").where("id", "=", id).execute();
}

export async function deleteAllWebhooks(db: Kysely<Database>): Promise<void> {
  await db.deleteFrom("webhook_deliveries").execute();
  await db.deleteFrom("delivery_cursors").execute();
  await db.deleteFrom("webhooks").execute();
  await db.updateTable("orgs").set({ next_webhook_number: 1 }).execute();
}
