// What a journal entry means to a webhook: DevRev's event types and their bodies. A merge is two
// updates (the secondary is deactivated, not deleted); only a SCIM DELETE is a dev_user_deleted.
// Token issues, loads, resets and SCIM connection changes have no DevRev event. An event about a
// webhook carries its `secret` field empty: the spec requires the field, and no receiver may learn
// another webhook's secret.
import type { JournalRow } from "../db/types.js";
import type { DecodedEntry } from "../services/journal-codec.js";
import type { EventType } from "../services/webhook-events.js";
import { webhookDon } from "../services/webhooks.js";

export interface EventSpec {
  type: EventType;
  /** What the event is about: a webhook's events about one object go out in journal order. */
  orderingKey: string;
  payload: Record<string, unknown>;
}

/** The event types an operation's entries make, without reading the entry. */
export function eventTypesOf(operation: string): EventType[] {
  if (operation === "dev_users.create") return ["dev_user_created"];
  // A SCIM create of a user deleted before brings it back: an update, not a creation.
  if (operation === "dev_users.scim.create") return ["dev_user_created", "dev_user_updated"];
  if (operation === "dev_users.scim.delete") return ["dev_user_deleted"];
  if (operation.startsWith("dev_users.")) return ["dev_user_updated"];
  if (operation === "webhooks.create") return ["webhook_created"];
  if (operation === "webhooks.update" || operation === "webhooks.verify") return ["webhook_updated"];
  if (operation === "webhooks.delete") return ["webhook_deleted"];
  return [];
}

/** The events of an entry, from its objects in their wire form (services/journal-codec.ts). */
export function eventsOf(org: string, row: JournalRow, entry: DecodedEntry): EventSpec[] {
  const { before } = entry;
  const after = entry.after as any;
  const details = entry.details as any;
  const n = Number(row.object_id);
  const userKey = `dev_user/${n}`;
  switch (row.operation) {
    case "dev_users.create":
      return [{ type: "dev_user_created", orderingKey: userKey, payload: { dev_user: after } }];
    case "dev_users.scim.create":
      return before === undefined
        ? [{ type: "dev_user_created", orderingKey: userKey, payload: { dev_user: after } }]
        : [{ type: "dev_user_updated", orderingKey: userKey, payload: { dev_user: after, old_dev_user: before } }];
    case "dev_users.scim.delete":
      // The row stays, its state `deleted`: for the API (and its webhooks) the user is gone.
      return [{ type: "dev_user_deleted", orderingKey: userKey, payload: { id: after.id, old_dev_user: before } }];
    case "dev_users.update":
    case "dev_users.self.update":
    case "dev_users.activate":
    case "dev_users.deactivate":
    case "dev_users.identities.link":
    case "dev_users.identities.unlink":
    case "dev_users.role.set":
    case "dev_users.scim.update":
      return [{ type: "dev_user_updated", orderingKey: userKey, payload: { dev_user: after, old_dev_user: before } }];
    case "dev_users.merge":
      return [
        { type: "dev_user_updated", orderingKey: userKey, payload: { dev_user: after, old_dev_user: before } },
        {
          type: "dev_user_updated",
          orderingKey: `dev_user/${Number(row.related_id)}`,
          payload: { dev_user: details.secondary_user.after, old_dev_user: details.secondary_user.before },
        },
      ];
    case "webhooks.create":
      return [{ type: "webhook_created", orderingKey: `webhook/${n}`, payload: { webhook: { ...after, secret: "" } } }];
    case "webhooks.update":
    case "webhooks.verify":
      return [{ type: "webhook_updated", orderingKey: `webhook/${n}`, payload: { webhook: { ...after, secret: "" } } }];
    case "webhooks.delete":
      return [{ type: "webhook_deleted", orderingKey: `webhook/${n}`, payload: { id: webhookDon(org, n) } }];
    default:
      return [];
  }
}

/** DevRev's envelope: `{id, webhook_id, timestamp, type, <type>: {...}}`. */
export function envelope(org: string, webhookNumber: number, row: JournalRow, index: number, event: EventSpec): string {
  const webhookId = webhookDon(org, webhookNumber);
  return JSON.stringify({
    id: `${webhookId}:event/${Number(row.seq)}-${index}`,
    webhook_id: webhookId,
    timestamp: row.created_date,
    type: event.type,
    [event.type]: event.payload,
  });
}
