// How journal entries hold dev users: compactly. A user's wire form is about 1.1 KB, and two thirds
// of it are what the entry does not need to store: its own DON and display id (its number gives
// both), the summaries of the users it names (created_by, modified_by, reports_to: their numbers
// give them), and empty lists. Halving every entry took link's and create's journal cost down
// (docs/performance.md). Readers get the wire form back; the users it names are shown as they are
// when read, as the diffs of link and unlink already showed their previous modifier.
import type { Kysely } from "kysely";
import { findDevUsersByNumbers } from "../db/repositories/dev-users.js";
import type { Database, JournalRow } from "../db/types.js";
import { devUserDisplayId, devUserDon } from "../ids.js";
import { diffOf, renderBefore, summariesFor } from "./journal-render.js";
import { toUserSummary } from "./mapper.js";
import type { UserSummary, WireDevUser } from "./wire.js";

/** The mark of a packed user, and its format's version. */
const PACKED = "u1";
const REFS = [
  ["created_by", "cb"],
  ["modified_by", "mb"],
  ["reports_to", "rt"],
] as const;
/** Fields the wire form always has, stored only when not empty. */
const LISTS = ["job_history", "availability_modes", "skills", "phone_numbers"] as const;

type Packed = Record<string, unknown> & { $: typeof PACKED; n: number };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isWireUser = (v: Record<string, unknown>): v is WireDevUser & Record<string, unknown> =>
  v.type === "dev_user" && typeof v.id === "string" && Array.isArray(v.external_identities);
const isPacked = (v: unknown): v is Packed => isObject(v) && v.$ === PACKED && typeof v.n === "number";
const numberOf = (don: string) => Number(don.slice(don.lastIndexOf("/") + 1));

function packUser(u: WireDevUser & Record<string, unknown>): Packed {
  const { type: _type, id, display_id: _displayId, created_by, modified_by, reports_to, ...rest } = u;
  const out: Packed = { $: PACKED, n: numberOf(id) };
  for (const [key, value] of Object.entries(rest)) {
    if ((LISTS as readonly string[]).includes(key) && Array.isArray(value) && value.length === 0) continue;
    if (key === "custom_fields" && isObject(value) && Object.keys(value).length === 0) continue;
    out[key] = value;
  }
  for (const [field, short] of REFS) {
    const ref = u[field] as UserSummary | undefined;
    if (ref) out[short] = numberOf(ref.id);
  }
  return out;
}

/** What an entry stores of `value`: dev users in it packed, at any depth (a merge's details). */
export function packForJournal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(packForJournal);
  if (!isObject(value)) return value;
  if (isWireUser(value)) return packUser(value);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = packForJournal(v);
  return out;
}

function unpackUser(org: string, p: Packed, summaryOf: (n: number) => UserSummary | undefined): WireDevUser {
  const { $: _mark, n, external_identities, custom_fields, ...fields } = p;
  // The wire form's own order (services/mapper.ts), so a rendered user reads like a live one.
  const w: Record<string, unknown> = {
    type: "dev_user",
    id: devUserDon(org, n),
    display_id: devUserDisplayId(n),
    created_date: fields.created_date,
    modified_date: fields.modified_date,
    display_name: fields.display_name,
    email: fields.email,
    state: fields.state,
  };
  // Entries written before users carried a role on the wire have none to show.
  if (fields.role !== undefined) w.role = fields.role;
  w.external_identities = external_identities ?? [];
  w.job_history = fields.job_history ?? [];
  w.availability_modes = fields.availability_modes ?? [];
  w.custom_fields = custom_fields ?? {};
  w.skills = fields.skills ?? [];
  w.phone_numbers = fields.phone_numbers ?? [];
  for (const [field, short] of REFS) {
    const ref = typeof p[short] === "number" ? summaryOf(p[short] as number) : undefined;
    if (ref) w[field] = ref;
  }
  const shorts: readonly string[] = REFS.map(([, short]) => short);
  for (const [key, value] of Object.entries(fields)) if (!(key in w) && !shorts.includes(key)) w[key] = value;
  return w as unknown as WireDevUser;
}

function collectRefs(value: unknown, into: Set<number>): void {
  if (Array.isArray(value)) for (const v of value) collectRefs(v, into);
  else if (isPacked(value)) {
    for (const [, short] of REFS) if (typeof value[short] === "number") into.add(value[short] as number);
  } else if (isObject(value)) for (const v of Object.values(value)) collectRefs(v, into);
}

function unpack(org: string, value: unknown, summaryOf: (n: number) => UserSummary | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => unpack(org, v, summaryOf));
  if (isPacked(value)) return unpackUser(org, value, summaryOf);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = unpack(org, v, summaryOf);
  return out;
}

export interface DecodedEntry {
  /** The object as it was; rendered from the diff for entries that hold one. */
  before?: unknown;
  after?: unknown;
  details?: unknown;
}

const parse = (text: string | null): unknown => (text === null ? undefined : JSON.parse(text));

/**
 * Entries' objects in their wire form: packed users unpacked, and diffs rendered into the user as
 * it was. The users they name are read in one query, and the diffs' previous modifiers in another.
 */
export async function decodeEntries(
  db: Kysely<Database>,
  orgId: number,
  org: string,
  rows: JournalRow[],
): Promise<DecodedEntry[]> {
  const raw = rows.map((r) => ({ before: parse(r.before), after: parse(r.after), details: parse(r.details) }));
  const numbers = new Set<number>();
  for (const e of raw) collectRefs(e, numbers);
  const named = numbers.size === 0 ? new Map() : await findSummaries(db, orgId, org, [...numbers]);
  const summaryOf = (n: number) => named.get(n);
  const decoded = raw.map((e) => ({
    before: unpack(org, e.before, summaryOf),
    after: unpack(org, e.after, summaryOf),
    details: unpack(org, e.details, summaryOf),
  }));
  const diffs = decoded.map((e) => diffOf(e.before));
  if (!diffs.some(Boolean)) return decoded;
  const previousModifier = await summariesFor(db, orgId, org, diffs);
  decoded.forEach((e, i) => {
    const diff = diffs[i];
    if (diff) e.before = renderBefore(e.after as WireDevUser, diff, previousModifier);
  });
  return decoded;
}

async function findSummaries(db: Kysely<Database>, orgId: number, org: string, numbers: number[]) {
  const rows = await findDevUsersByNumbers(db, orgId, numbers);
  return new Map(rows.map((r) => [Number(r.number), toUserSummary(org, r)]));
}
