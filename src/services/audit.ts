// The audit log: the change journal read back, admin-only and org-scoped, newest first.

import type { Kysely } from "kysely";
import { type JournalQuery, listJournal } from "../db/repositories/journal.js";
import { findOrgBySlug } from "../db/repositories/orgs.js";
import type { Database, JournalRow } from "../db/types.js";
import { assertThat, valueNotPermitted } from "../errors.js";
import { devUserDon, parseDevUserId } from "../ids.js";
import type { Caller, Deps } from "./context.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { OPERATIONS, type Operation } from "./journal.js";
import { type DecodedEntry, decodeEntries } from "./journal-codec.js";
import { pagesFor } from "./pages.js";
import { requireAdmin } from "./policy.js";
import { parseScimConnectionId, SCIM_CONNECTION_DON_RE, scimConnectionDon } from "./scim-connections.js";
import { webhookDon } from "./webhooks.js";

export const AUDIT_ACTOR_KINDS = ["cli", "system"] as const;
export const OPERATION_NAMES = Object.keys(OPERATIONS) as Operation[];
export const OPERATION_TYPES = ["create", "delete", "other", "read", "update"] as const;
export const CATEGORIES = [...new Set(OPERATION_NAMES.map((op) => op.split(".")[0]!))];

export interface AuditListInput {
  /** A dev user's DON or display id: entries about it, including merges it was the secondary of. */
  object?: string;
  /** A dev user's DON or display id, a SCIM connection's DON, or `cli` or `system`. */
  actor?: string;
  operation?: string[];
  /** DevRev's operation types (create, update, delete, ...), as audit-logs.fetch takes them. */
  operation_types?: string[];
  /** What the operations act on, as audit-logs.fetch takes them: an operation's first word. */
  categories?: string[];
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
  mode?: "after" | "before";
}

export interface WireAuditEntry {
  id: string;
  seq: number;
  timestamp: string;
  operation: string;
  operation_type: string;
  actor: { type: string; id?: string; display_id?: string };
  object: { type: string; id: string; display_id?: string };
  related_object?: { type: string; id: string; display_id?: string };
  before?: unknown;
  after?: unknown;
  details?: Record<string, unknown>;
  request_id?: string;
}

export interface AuditListOutput {
  audit_logs: WireAuditEntry[];
  next_cursor?: string;
  prev_cursor?: string;
}

const SORT = "seq:desc";
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;

const userRef = (org: string, number: number) => ({
  type: "dev_user",
  id: devUserDon(org, number),
  display_id: `DEVU-${number}`,
});

const connectionRef = (org: string, number: number) => ({
  type: "scim_connection",
  id: scimConnectionDon(org, number),
});

function objectRef(org: string, row: JournalRow): WireAuditEntry["object"] {
  const n = Number(row.object_id);
  if (row.object_type === "dev_user" && row.object_id !== null) return userRef(org, n);
  if (row.object_type === "webhook" && row.object_id !== null) return { type: "webhook", id: webhookDon(org, n) };
  if (row.object_type === "scim_connection" && row.object_id !== null) return connectionRef(org, n);
  return { type: row.object_type, id: `don:identity:dvrv-us-1:devo/${org}` };
}

/** Entries in the API's form, diffs rendered into the object as it was. */
export async function toWireAuditEntries(
  db: Kysely<Database>,
  orgId: number,
  org: string,
  rows: JournalRow[],
): Promise<WireAuditEntry[]> {
  const decoded = await decodeEntries(db, orgId, org, rows);
  return rows.map((r, i) => toWireAuditEntry(org, r, decoded[i]!));
}

function actorRef(org: string, row: JournalRow): WireAuditEntry["actor"] {
  if (row.actor_id === null) return { type: row.actor_type };
  if (row.actor_type === "dev_user") return userRef(org, Number(row.actor_id));
  if (row.actor_type === "scim_connection") return connectionRef(org, Number(row.actor_id));
  return { type: row.actor_type };
}

function toWireAuditEntry(org: string, row: JournalRow, decoded: DecodedEntry): WireAuditEntry {
  const seq = Number(row.seq);
  const entry: WireAuditEntry = {
    id: `don:identity:dvrv-us-1:devo/${org}:audit_log/${seq}`,
    seq,
    timestamp: row.created_date,
    operation: row.operation,
    operation_type: OPERATIONS[row.operation as Operation] ?? "other",
    actor: actorRef(org, row),
    object: objectRef(org, row),
  };
  if (row.related_id !== null) entry.related_object = userRef(org, Number(row.related_id));
  if (decoded.before !== undefined) entry.before = decoded.before;
  if (decoded.after !== undefined) entry.after = decoded.after;
  if (decoded.details !== undefined) entry.details = decoded.details as Record<string, unknown>;
  if (row.request_id !== null) entry.request_id = row.request_id;
  return entry;
}

function isoInstant(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  assertThat(Number.isFinite(ms), () => valueNotPermitted(field, "must be a date-time, such as 2026-01-31T12:00:00Z"));
  return new Date(ms).toISOString();
}

/** The operations the filters allow, or undefined for all of them. */
function operationsFor(input: AuditListInput): string[] | undefined {
  for (const op of input.operation ?? []) {
    assertThat(op in OPERATIONS, () =>
      valueNotPermitted("operation", `"${op}" is not an operation; one of ${OPERATION_NAMES.join(", ")}`),
    );
  }
  for (const c of input.categories ?? []) {
    assertThat(CATEGORIES.includes(c), () =>
      valueNotPermitted("categories", `"${c}" is not a category; one of ${CATEGORIES.join(", ")}`),
    );
  }
  const { operation, operation_types: types, categories } = input;
  if (!operation?.length && !types?.length && !categories?.length) return undefined;
  const ops = OPERATION_NAMES.filter(
    (op) =>
      (!operation?.length || operation.includes(op)) &&
      (!types?.length || types.includes(OPERATIONS[op])) &&
      (!categories?.length || categories.includes(op.split(".")[0]!)),
  );
  // Filters that no operation passes (the type `read`): nothing matches, which is not "no filter".
  return ops.length ? ops : ["-"];
}

function actorFor(caller: Caller, raw: string | undefined): JournalQuery["actor"] {
  if (raw === undefined) return undefined;
  if ((AUDIT_ACTOR_KINDS as readonly string[]).includes(raw)) return { type: raw, id: null };
  if (SCIM_CONNECTION_DON_RE.test(raw))
    return { type: "scim_connection", id: parseScimConnectionId(raw, "actor", caller.org) };
  return { type: "dev_user", id: parseDevUserId(raw, "actor", caller.org) };
}

export async function listAuditLog(deps: Deps, caller: Caller, input: AuditListInput): Promise<AuditListOutput> {
  requireAdmin(caller);
  const limit = input.limit ?? DEFAULT_LIMIT;
  assertThat(
    Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT,
    valueNotPermitted("limit", `must be an integer from 1 to ${MAX_LIMIT}`),
  );
  let boundary: number | undefined;
  let direction = input.mode ?? "after";
  if (input.cursor !== undefined && input.cursor !== "") {
    const cursor = decodeCursor(input.cursor);
    const key = cursor.key[0];
    assertThat(
      cursor.sort === SORT &&
        cursor.key.length === 1 &&
        typeof key === "number" &&
        Number.isSafeInteger(key) &&
        key >= 0,
      valueNotPermitted("cursor", "this cursor is not an audit log cursor"),
    );
    boundary = key;
    direction = input.mode ?? cursor.direction;
  }
  const from = isoInstant(input.from, "from");
  const to = isoInstant(input.to, "to");
  assertThat(from === undefined || to === undefined || from <= to, valueNotPermitted("to", "must not be before from"));
  const query: JournalQuery = {
    orgId: caller.orgId,
    object:
      input.object === undefined
        ? undefined
        : { type: "dev_user", id: parseDevUserId(input.object, "object", caller.org) },
    actor: actorFor(caller, input.actor),
    operations: operationsFor(input),
    from,
    to,
    beyond: boundary,
    // "after" reads on in the list's order (older entries); "before" reads back towards newer ones.
    order: direction === "after" ? "desc" : "asc",
    limit: limit + 1,
  };
  const db = await pagesFor(deps, caller);
  const rows = await listJournal(db, query);
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  if (direction === "before") page.reverse();
  const out: AuditListOutput = {
    audit_logs: await toWireAuditEntries(db, caller.orgId, caller.org, page),
  };
  const first = page[0];
  const last = page.at(-1);
  const olderBeyond = direction === "after" ? more : boundary !== undefined;
  const newerBeyond = direction === "before" ? more : boundary !== undefined;
  if (last && olderBeyond) out.next_cursor = encodeCursor({ sort: SORT, key: [Number(last.seq)], direction: "after" });
  if (first && newerBeyond)
    out.prev_cursor = encodeCursor({ sort: SORT, key: [Number(first.seq)], direction: "before" });
  return out;
}

/**
 * `devusers audit`: an org's entries after `afterSeq`, oldest first, with no caller (the CLI holds
 * the database itself). Undefined when the org does not exist.
 */
export async function auditEntriesSince(
  deps: Deps,
  org: string,
  afterSeq: number,
  limit: number,
): Promise<WireAuditEntry[] | undefined> {
  const row = await findOrgBySlug(deps.db.kysely, org);
  if (!row) return undefined;
  const rows = await listJournal(deps.db.kysely, { orgId: row.id, beyond: afterSeq, order: "asc", limit });
  return toWireAuditEntries(deps.db.kysely, row.id, org, rows);
}
