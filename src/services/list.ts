// dev-users.list: filters, sort and cursor pagination.
import type { Kysely } from "kysely";
import {
  anyBeyond,
  type DateRange,
  findOwnersOfIdentities,
  listDevUsersWithIdentities,
  type SortColumn,
  type SortKey,
} from "../db/repositories/dev-users.js";
import { ownersOfIdentities } from "../db/repositories/identities.js";
import type { Database, DevUserRow } from "../db/types.js";
import { ApiError, assertThat, valueNotPermitted } from "../errors.js";
import { isoDateTime } from "../validation.js";
import type { Caller, Deps } from "./context.js";
import { type Cursor, decodeCursor, encodeCursor } from "./cursor.js";
import { hydrate } from "./hydrate.js";
import { pagesFor } from "./pages.js";
import type { WireDevUser } from "./wire.js";

export interface DateFilter {
  type: "range" | "preset";
  after?: string;
  before?: string;
  preset_type?: "last_n_days" | "next_n_days";
  days?: number;
}

export interface ListInput {
  cursor?: string;
  limit?: number;
  mode?: "after" | "before";
  sort_by?: string[];
  email?: string[];
  state?: string[];
  external_identity?: { issuer?: string; id?: string }[];
  created_date?: DateFilter;
  modified_date?: DateFilter;
  phone_numbers?: string[];
  timezone?: string[];
  custom_fields?: Record<string, unknown>;
  staged_info?: { is_staged?: boolean };
  /** Beyond DevRev's spec: a case-insensitive prefix of display_name, full_name or email. */
  search?: string;
}

export interface ListOutput {
  dev_users: WireDevUser[];
  next_cursor?: string;
  prev_cursor?: string;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;

const SORT_FIELDS: Record<string, SortColumn> = {
  created_date: "created_date",
  modified_date: "modified_date",
  display_name: "display_name",
  full_name: "full_name",
  email: "email_lower",
};

function parseSort(sortBy: string[] | undefined): { keys: SortKey[]; spec: string } {
  const keys: SortKey[] = [];
  const seen = new Set<string>();
  for (const entry of sortBy ?? []) {
    const [field = "", dir = "asc", ...rest] = entry.split(":");
    const column = SORT_FIELDS[field];
    assertThat(
      column && rest.length === 0 && (dir === "asc" || dir === "desc"),
      () =>
        new ApiError("value_not_permitted", `sort_by: "${entry}" is not field:asc or field:desc`, {
          field_name: "sort_by",
          allowed_values: Object.keys(SORT_FIELDS).flatMap((f) => [`${f}:asc`, `${f}:desc`]),
        }),
    );
    assertThat(!seen.has(field), valueNotPermitted("sort_by", `"${field}" is given twice`));
    seen.add(field);
    keys.push({ column, desc: dir === "desc" });
  }
  // The user's number breaks ties: unique in the org, and what every keyset index ends with.
  const last = keys[keys.length - 1];
  keys.push({ column: "number", desc: last?.desc ?? false });
  return { keys, spec: keys.map((k) => `${k.column}:${k.desc ? "desc" : "asc"}`).join(",") };
}

function dateRange(filter: DateFilter | undefined, field: string, now: number): DateRange | undefined {
  if (!filter) return undefined;
  if (filter.type === "range") {
    const range: DateRange = {};
    if (filter.after !== undefined) range.after = isoDateTime(filter.after, `${field}.after`);
    if (filter.before !== undefined) range.before = isoDateTime(filter.before, `${field}.before`);
    return range;
  }
  assertThat(
    filter.preset_type,
    () =>
      new ApiError("missing_required_field", `${field}.preset_type is required`, {
        field_name: `${field}.preset_type`,
      }),
  );
  assertThat(
    filter.days !== undefined,
    () =>
      new ApiError("missing_required_field", `${field}.days is required`, {
        field_name: `${field}.days`,
      }),
  );
  const span = filter.days * 86_400_000;
  const at = (t: number) => new Date(Math.min(Math.max(t, -8.64e15), 8.64e15)).toISOString();
  return filter.preset_type === "last_n_days"
    ? { after: at(now - span), before: at(now) }
    : { after: at(now), before: at(now + span) };
}

const sortValues = (row: DevUserRow, keys: SortKey[]) => keys.map((k) => row[k.column]);

/** Whether exact identities are the only thing asked for (sort and paging aside). */
function onlyIdentities(input: ListInput): boolean {
  return (
    input.email === undefined &&
    input.state === undefined &&
    input.created_date === undefined &&
    input.modified_date === undefined &&
    input.phone_numbers === undefined &&
    input.timezone === undefined &&
    input.search === undefined
  );
}

/**
 * The directory's hottest question, "who is slack/U123?", and nothing else: the owners are known
 * by id already, so they are read by primary key, without building a list query. The first page
 * in number order, exactly as the general path would answer it.
 */
async function ownersPage(
  db: Kysely<Database>,
  caller: Caller,
  pairs: { issuer: string; id: string }[],
  pageSize: number,
  spec: string,
): Promise<ListOutput> {
  const found = await findOwnersOfIdentities(db, caller.orgId, pairs);
  const identities = found.identities;
  const rows = [...found.rows].sort((a, b) => a.number - b.number);
  const page = rows.slice(0, pageSize);
  const out: ListOutput = { dev_users: await hydrate(db, caller, page, identities) };
  const last = page[page.length - 1];
  if (rows.length > pageSize && last) {
    out.next_cursor = encodeCursor({ sort: spec, key: [last.number], direction: "after" });
  }
  return out;
}

export async function listUsers(deps: Deps, caller: Caller, input: ListInput): Promise<ListOutput> {
  const limit = input.limit ?? DEFAULT_LIMIT;
  assertThat(limit >= 1, valueNotPermitted("limit", "must be at least 1"));
  const pageSize = Math.min(limit, MAX_LIMIT);
  const custom = input.custom_fields ?? {};
  assertThat(
    Object.keys(custom).length === 0,
    valueNotPermitted("custom_fields", "filtering by custom fields is not supported"),
  );
  for (const [i, f] of (input.external_identity ?? []).entries()) {
    assertThat(
      f.issuer !== undefined || f.id !== undefined,
      valueNotPermitted(`external_identity[${i}]`, "give issuer, id or both"),
    );
  }

  const { keys, spec } = parseSort(input.sort_by);
  let cursor: Cursor | undefined;
  if (input.cursor !== undefined && input.cursor !== "") {
    cursor = decodeCursor(input.cursor);
    assertThat(
      cursor.sort === spec && cursor.key.length === keys.length,
      valueNotPermitted("cursor", "this cursor belongs to another sort_by"),
    );
    // Each key must have its column's type: PostgreSQL refuses comparisons SQLite would make.
    const key = cursor.key;
    assertThat(
      keys.every((k, i) => (k.column === "number" ? Number.isSafeInteger(key[i]) : typeof key[i] === "string")),
      valueNotPermitted("cursor", "this cursor cannot be read; start again without one"),
    );
  }
  const direction = input.mode ?? cursor?.direction ?? "after";
  if (input.staged_info?.is_staged === true) return { dev_users: [] }; // nothing here is ever staged

  const db = await pagesFor(deps, caller);
  // Exact (issuer, id) filters become a few ids first: a lookup, never a walk of the directory.
  const identityFilter = input.external_identity;
  const exact =
    identityFilter !== undefined &&
    identityFilter.length > 0 &&
    identityFilter.every((f) => f.issuer !== undefined && f.id !== undefined);
  if (exact && direction === "after" && cursor === undefined && keys.length === 1 && onlyIdentities(input)) {
    return ownersPage(db, caller, identityFilter as { issuer: string; id: string }[], pageSize, spec);
  }
  const ids = exact
    ? await ownersOfIdentities(db, caller.orgId, identityFilter as { issuer: string; id: string }[])
    : undefined;

  const now = Date.now();
  const filter = {
    ids,
    emails: input.email?.map((e) => e.toLowerCase()),
    states: input.state,
    identities: exact ? undefined : identityFilter,
    created: dateRange(input.created_date, "created_date", now),
    modified: dateRange(input.modified_date, "modified_date", now),
    phoneNumbers: input.phone_numbers,
    timezones: input.timezone,
    search: input.search?.toLowerCase(),
  };
  const base = { orgId: caller.orgId, filter, sort: keys };
  const { rows: fetched, identities } = await listDevUsersWithIdentities(db, {
    ...base,
    boundary: cursor?.key,
    direction,
    limit: pageSize,
  });
  const more = fetched.length > pageSize;
  const rows = fetched.slice(0, pageSize);
  if (direction === "before") rows.reverse();

  const out: ListOutput = { dev_users: await hydrate(db, caller, rows, identities) };
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (!first || !last) return out;
  const firstKey = sortValues(first, keys);
  const lastKey = sortValues(last, keys);
  // The side we read towards is known from the extra row; the side we came from needs a look.
  const hasNext =
    direction === "after" ? more : await anyBeyond(db, { ...base, boundary: lastKey, direction: "after" });
  const hasPrev =
    direction === "before"
      ? more
      : cursor !== undefined && (await anyBeyond(db, { ...base, boundary: firstKey, direction: "before" }));
  if (hasNext) out.next_cursor = encodeCursor({ sort: spec, key: lastKey, direction: "after" });
  if (hasPrev) out.prev_cursor = encodeCursor({ sort: spec, key: firstKey, direction: "before" });
  return out;
}
