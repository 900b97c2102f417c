// The change journal: the one place entries are written. Every write of the service layer runs
// through `journalled`, which opens the write transaction and hands the unit of work a journal to
// record its change in; the entry commits with the change or not at all. A unit of work that
// neither records a change nor says it changed nothing fails, and rolls back: no write can skip
// its entry by forgetting it.
import type { Kysely } from "kysely";
import { appendJournalEntry } from "../db/repositories/journal.js";
import type { Database, NewJournalEntry } from "../db/types.js";
import type { Caller, Deps } from "./context.js";
import { packForJournal } from "./journal-codec.js";

/**
 * Who made a change: a dev user through the API, an identity provider through its SCIM connection
 * (by the connection's number in the org), the CLI, or the service itself (bootstrap, harness).
 */
export type Actor =
  | { type: "dev_user"; number: number }
  | { type: "scim_connection"; number: number }
  | { type: "cli" }
  | { type: "system" };

/**
 * Every operation the journal records, with DevRev's audit-log operation type for it (the
 * `operation_types` filter of audit-logs.fetch).
 */
export const OPERATIONS = {
  "dev_users.create": "create",
  "dev_users.update": "update",
  "dev_users.self.update": "update",
  "dev_users.activate": "update",
  "dev_users.deactivate": "update",
  "dev_users.merge": "update",
  "dev_users.identities.link": "update",
  "dev_users.identities.unlink": "update",
  "dev_users.role.set": "update",
  "auth_tokens.create": "create",
  "auth_tokens.update": "update",
  "auth_tokens.delete": "delete",
  "directory.load": "create",
  "directory.reset": "delete",
  "webhooks.create": "create",
  "webhooks.update": "update",
  "webhooks.delete": "delete",
  "webhooks.verify": "update",
  "webhooks.redeliver": "other",
  // Provisioning by an identity provider (src/scim): the actor is its connection.
  "dev_users.scim.create": "create",
  "dev_users.scim.update": "update",
  "dev_users.scim.delete": "delete",
  "scim_connections.create": "create",
  "scim_connections.update": "update",
  "scim_connections.delete": "delete",
} as const;

export type Operation = keyof typeof OPERATIONS;
export type ObjectType = "dev_user" | "org" | "webhook" | "scim_connection";

export interface Change {
  operation: Operation;
  /**
   * A dev user, webhook or SCIM connection by its number in the org (the `<n>` of its id), or an
   * org by its row id.
   */
  object: { type: ObjectType; id: number | null };
  /** The org the change is in, when it is not the caller's (the CLI finds it in the transaction). */
  orgId?: number;
  /** A second user the change is about, by number: a merge's secondary. */
  relatedId?: number;
  /** The object's wire form before and after the change; absent for what did not exist. */
  before?: unknown;
  after?: unknown;
  /**
   * Instead of `before`, for the hottest writes: what the change replaced, from which readers
   * render `before` exactly (services/journal-render.ts).
   */
  diff?: UserDiff;
  /** What else the operation records (the identity linked, a merge's secondary, a token's expiry). */
  details?: Record<string, unknown>;
}

/** A dev user's change as a diff: its previous mark, and the identity added or removed. */
export interface UserDiff {
  modified_date: string;
  modified_by_id: number | null;
  /** Added at the end of the list, which held this many before. */
  identity_added?: number;
  identity_removed?: { at: number; identity: unknown };
}

export interface Journal {
  record(change: Change): Promise<void>;
  /** Says the unit of work changed nothing (an activate of an active user): it needs no entry. */
  unchanged(): undefined;
}

export interface Context {
  actor: Actor;
  /** The org of the entries, unless a change names its own. */
  orgId?: number;
  requestId?: string;
}

export function contextOf(caller: Caller): Context {
  if (!caller.row) throw new Error("journal: the caller's row was not read");
  return { actor: { type: "dev_user", number: caller.row.number }, orgId: caller.orgId, requestId: caller.requestId };
}

const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

/** The journal's row for `change`, made by whoever `context` names. */
export function entryOf(deps: Deps, context: Context, c: Change): NewJournalEntry {
  const orgId = c.orgId ?? context.orgId;
  if (orgId === undefined) throw new Error(`journal: ${c.operation} names no org`);
  return {
    org_id: orgId,
    created_date: deps.now(),
    actor_type: context.actor.type,
    actor_id: "number" in context.actor ? context.actor.number : null,
    operation: c.operation,
    object_type: c.object.type,
    object_id: c.object.id,
    related_id: c.relatedId ?? null,
    before: c.diff ? json({ diff: c.diff }) : json(packForJournal(c.before)),
    after: json(packForJournal(c.after)),
    details: json(packForJournal(c.details)),
    request_id: context.requestId ?? null,
  };
}

/** Runs `work` as one write transaction, with the journal its change is recorded in. */
export function journalled<T>(
  deps: Deps,
  who: Context | Caller,
  work: (trx: Kysely<Database>, journal: Journal) => Promise<T>,
): Promise<T> {
  const context = "actor" in who ? who : contextOf(who);
  // The operations of the attempt that committed: counted per run of `work`, so the guard below
  // never counts what another run of it recorded.
  let recorded: Operation[] = [];
  const result = deps.db.writes.run(async (trx) => {
    const ops: Operation[] = [];
    recorded = ops;
    let unchanged = false;
    const journal: Journal = {
      record: async (c) => {
        await appendJournalEntry(trx, entryOf(deps, context, c));
        ops.push(c.operation);
      },
      unchanged: () => {
        unchanged = true;
        return undefined;
      },
    };
    const result = await work(trx, journal);
    if (ops.length === 0 && !unchanged)
      throw new Error("a write recorded no journal entry and did not say it changed nothing");
    return result;
  });
  const changed = deps.changed;
  if (changed)
    void result.then(
      () => changed(recorded),
      () => {},
    );
  return result;
}
