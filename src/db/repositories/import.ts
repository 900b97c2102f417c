// The SQL of `devusers load` (src/services/import.ts): batches of users looked up and inserted
// with one statement each, and two TEMP tables that keep what a million-user file would
// otherwise hold in memory: where each user made by this load came from, and the references
// (reports_to, created_by, modified_by) to resolve once every user of the file exists.
import { CompiledQuery, type Kysely, PostgresAdapter, sql } from "kysely";
import { directFor, readAll } from "../reads.js";
import type { Database, DevUserRow, IdentityRow, NewDevUser, NewIdentity as NewIdentityRow } from "../types.js";

export type RefField = "reports_to" | "created_by" | "modified_by";
const REF_COLUMNS = {
  reports_to: "reports_to_id",
  created_by: "created_by_id",
  modified_by: "modified_by_id",
} as const;

type ImportTables = {
  import_where: { dev_user_id: number; where_: string };
  import_refs: {
    dev_user_id: number;
    field: string;
    /** `set` for users this load made, `check` for existing ones it must leave as they are. */
    mode: string;
    ref_number: number | null;
    ref_email_lower: string | null;
    ref_text: string;
    where_: string;
    target_id: number | null;
  };
};
const withTemp = (db: Kysely<Database>) => db.withTables<ImportTables>();

type Value = string | number | null;
const insertTexts = new Map<string, string>();

/**
 * A multi-row INSERT, its text made once per table, width and dialect: a million users are two
 * thousand statements of the same few shapes, and building each with Kysely's builder cost as
 * much as SQLite took to run it. On SQLite it runs directly on the batch's connection.
 */
async function insertRows<R>(
  db: Kysely<Database>,
  table: string,
  cols: readonly string[],
  rows: Value[][],
  tail = "",
): Promise<R[]> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const key = `${pg}:${table}:${rows.length}:${tail}`;
  let text = insertTexts.get(key);
  if (text === undefined) {
    let n = 0;
    const tuple = () => `(${cols.map(() => (pg ? `$${++n}` : "?")).join(",")})`;
    text = `insert into ${table} (${cols.join(",")}) values ${Array.from(rows, tuple).join(",")} ${tail}`;
    if (insertTexts.size > 1000) insertTexts.clear();
    insertTexts.set(key, text);
  }
  const parameters = rows.flat();
  const direct = directFor(db);
  if (direct?.writes) return direct.all(text, parameters) as R[];
  return (await db.executeQuery<R>(CompiledQuery.raw(text, parameters))).rows;
}

/** Makes the load's TEMP tables, empty; they vanish with the connection (or dropImportTables). */
export async function createImportTables(db: Kysely<Database>): Promise<void> {
  await dropImportTables(db);
  await sql`create temp table import_where (dev_user_id bigint primary key, where_ text not null)`.execute(db);
  await sql`create temp table import_refs (
    dev_user_id bigint not null, field text not null, mode text not null, ref_number bigint,
    ref_email_lower text, ref_text text not null, where_ text not null, target_id bigint)`.execute(db);
  await sql`create index import_refs_user on import_refs (dev_user_id, field)`.execute(db);
}

export async function dropImportTables(db: Kysely<Database>): Promise<void> {
  await sql`drop table if exists import_refs`.execute(db);
  await sql`drop table if exists import_where`.execute(db);
}

/** A user found by this load: its row, its identities, and its line if this load made it. */
export interface Found {
  row: DevUserRow;
  identities: IdentityRow[];
  where?: string;
}

async function withIdentities(db: Kysely<Database>, rows: DevUserRow[]): Promise<Found[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const identities = await readAll(
    db,
    db.selectFrom("external_identities").selectAll().where("dev_user_id", "in", ids).orderBy("id"),
  );
  const wheres = await readAll(
    db,
    withTemp(db).selectFrom("import_where").select(["dev_user_id", "where_"]).where("dev_user_id", "in", ids),
  );
  const whereOf = new Map(wheres.map((w) => [Number(w.dev_user_id), w.where_]));
  return rows.map((row) => ({
    row,
    identities: identities.filter((i) => Number(i.dev_user_id) === row.id),
    where: whereOf.get(row.id),
  }));
}

/** The org's users with these lower-case emails. */
export async function usersByEmail(db: Kysely<Database>, orgId: number, emailsLower: string[]): Promise<Found[]> {
  if (emailsLower.length === 0) return [];
  const rows = await readAll(
    db,
    db.selectFrom("dev_users").selectAll().where("org_id", "=", orgId).where("email_lower", "in", emailsLower),
  );
  return withIdentities(db, rows);
}

/** The org's users holding these numbers. */
export async function usersByNumber(db: Kysely<Database>, orgId: number, numbers: number[]): Promise<Found[]> {
  if (numbers.length === 0) return [];
  const rows = await readAll(
    db,
    db.selectFrom("dev_users").selectAll().where("org_id", "=", orgId).where("number", "in", numbers),
  );
  return withIdentities(db, rows);
}

/** The user holding an identity of the org. */
export async function identityOwner(
  db: Kysely<Database>,
  orgId: number,
  issuer: string,
  externalId: string,
): Promise<Found | undefined> {
  const rows = await readAll(
    db,
    db
      .selectFrom("dev_users")
      .innerJoin("external_identities as i", "i.dev_user_id", "dev_users.id")
      .selectAll("dev_users")
      .where("i.org_id", "=", orgId)
      .where("i.issuer", "=", issuer)
      .where("i.external_id", "=", externalId),
  );
  return (await withIdentities(db, rows))[0];
}

/** Moves the org's counter past `largest`, a number a record gave itself. */
export async function counterPast(db: Kysely<Database>, orgId: number, largest: number): Promise<void> {
  await db
    .updateTable("orgs")
    .set({
      next_user_number: sql<number>`case when next_user_number <= ${largest} then ${largest + 1} else next_user_number end`,
    })
    .where("id", "=", orgId)
    .execute();
}

const USER_COLS = [
  "org_id",
  "number",
  "email",
  "email_lower",
  "display_name",
  "full_name",
  "state",
  "role",
  "job_title",
  "experience_start_date",
  "reports_to_id",
  "custom_fields",
  "job_history",
  "availability_modes",
  "skills",
  "phone_numbers",
  "timezone",
  "created_by_id",
  "modified_by_id",
  "created_date",
  "modified_date",
] as const satisfies readonly (keyof NewDevUser)[];

export type ImportRow = Required<Omit<NewDevUser, "id" | "token_generation">>;

/** Inserts users with one statement; returns their ids by lower-case email. */
export async function insertUsers(db: Kysely<Database>, rows: ImportRow[]): Promise<Map<string, number>> {
  if (rows.length === 0) return new Map();
  const out = await insertRows<{ id: number; email_lower: string }>(
    db,
    "dev_users",
    USER_COLS,
    rows.map((r) => USER_COLS.map((c) => r[c] as Value)),
    "returning id, email_lower",
  );
  return new Map(out.map((r) => [r.email_lower, Number(r.id)]));
}

export async function insertWheres(db: Kysely<Database>, rows: [userId: number, where: string][]): Promise<void> {
  if (rows.length > 0) await insertRows(db, "import_where", ["dev_user_id", "where_"], rows);
}

export async function insertPhones(db: Kysely<Database>, rows: [userId: number, phone: string][]): Promise<void> {
  if (rows.length > 0) await insertRows(db, "dev_user_phone_numbers", ["dev_user_id", "phone_number"], rows);
}

/** An identity as a load writes it: every column given, `is_verified` included. */
export type NewIdentity = Required<Omit<NewIdentityRow, "id">>;
const IDENTITY_COLS = [
  "org_id",
  "dev_user_id",
  "issuer",
  "external_id",
  "display_name",
  "is_verified",
  "created_date",
] as const satisfies readonly (keyof NewIdentity)[];

/**
 * Inserts identities; the unique indexes decide, and the ones they refused are returned (to be
 * named with their owner).
 */
export async function insertIdentities(db: Kysely<Database>, rows: NewIdentity[]): Promise<NewIdentity[]> {
  if (rows.length === 0) return [];
  const made = await insertRows<{ dev_user_id: number; issuer: string }>(
    db,
    "external_identities",
    IDENTITY_COLS,
    rows.map((r) => IDENTITY_COLS.map((c) => r[c])),
    "on conflict do nothing returning dev_user_id, issuer",
  );
  if (made.length === rows.length) return [];
  const key = (userId: number, issuer: string) => `${userId}\u0000${issuer}`;
  const ok = new Set(made.map((m) => key(Number(m.dev_user_id), m.issuer)));
  return rows.filter((r) => !ok.has(key(r.dev_user_id, r.issuer)));
}

export interface PendingRef {
  dev_user_id: number;
  field: RefField;
  mode: "set" | "check";
  ref_number: number | null;
  ref_email_lower: string | null;
  ref_text: string;
  where_: string;
}
const REF_COLS = [
  "dev_user_id",
  "field",
  "mode",
  "ref_number",
  "ref_email_lower",
  "ref_text",
  "where_",
] as const satisfies readonly (keyof PendingRef)[];

export async function insertRefs(db: Kysely<Database>, rows: PendingRef[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await insertRows(
      db,
      "import_refs",
      REF_COLS,
      chunk.map((r) => REF_COLS.map((c) => r[c])),
    );
  }
}

/** The ids of the org's users with these numbers. */
export async function idsByNumber(
  db: Kysely<Database>,
  orgId: number,
  numbers: number[],
): Promise<Map<number, number>> {
  if (numbers.length === 0) return new Map();
  const rows = await readAll(
    db,
    db.selectFrom("dev_users").select(["id", "number"]).where("org_id", "=", orgId).where("number", "in", numbers),
  );
  return new Map(rows.map((r) => [Number(r.number), Number(r.id)]));
}

/** The ids of the org's users with these lower-case emails. */
export async function idsByEmail(db: Kysely<Database>, orgId: number, emails: string[]): Promise<Map<string, number>> {
  if (emails.length === 0) return new Map();
  const rows = await readAll(
    db,
    db
      .selectFrom("dev_users")
      .select(["id", "email_lower"])
      .where("org_id", "=", orgId)
      .where("email_lower", "in", emails),
  );
  return new Map(rows.map((r) => [r.email_lower, Number(r.id)]));
}

/** Points every pending reference at the user it names, where there is one. */
export async function resolveRefs(db: Kysely<Database>, orgId: number): Promise<void> {
  await sql`update import_refs set target_id = (select d.id from dev_users d
      where d.org_id = ${orgId} and d.number = import_refs.ref_number)
    where ref_number is not null`.execute(db);
  await sql`update import_refs set target_id = (select d.id from dev_users d
      where d.org_id = ${orgId} and d.email_lower = import_refs.ref_email_lower)
    where ref_email_lower is not null`.execute(db);
}

/** A reference that names no user of the org, or a user reporting to itself. */
export async function badRef(
  db: Kysely<Database>,
): Promise<{ where_: string; field: string; ref_text: string; self: boolean } | undefined> {
  const rows = await readAll(
    db,
    withTemp(db)
      .selectFrom("import_refs")
      .select(["where_", "field", "ref_text", sql<boolean>`target_id is not null`.as("self")])
      .where((eb) =>
        eb.or([
          eb("target_id", "is", null),
          eb.and([eb("field", "=", "reports_to"), eb("target_id", "=", eb.ref("dev_user_id"))]),
        ]),
      )
      .limit(1),
  );
  const r = rows[0];
  return r && { ...r, self: Boolean(r.self) };
}

/** A reference of an existing user that names someone else than the user's own. */
export async function mismatchedRef(
  db: Kysely<Database>,
  field: RefField,
): Promise<{ where_: string; number: number; email: string; ref_text: string } | undefined> {
  const col = sql.ref(`d.${REF_COLUMNS[field]}`);
  const rows = await readAll(
    db,
    withTemp(db)
      .selectFrom("import_refs as r")
      .innerJoin("dev_users as d", "d.id", "r.dev_user_id")
      .select(["r.where_", "d.number", "d.email", "r.ref_text"])
      .where("r.mode", "=", "check")
      .where("r.field", "=", field)
      .where(sql<boolean>`(${col} is null or ${col} <> r.target_id)`)
      .limit(1),
  );
  return rows[0];
}

/** Writes the resolved references of the users this load made: one statement per field. */
export async function applyRefs(db: Kysely<Database>, field: RefField): Promise<void> {
  const col = sql.ref(REF_COLUMNS[field]);
  await sql`update dev_users set ${col} = (select r.target_id from import_refs r
      where r.dev_user_id = dev_users.id and r.field = ${field} and r.mode = 'set')
    where id in (select dev_user_id from import_refs where field = ${field} and mode = 'set')`.execute(db);
}

/**
 * A user this load made whose managers lead back to it, bounded like the API's own check (a
 * chain of `maxDepth` managers): its line, or undefined. Existing users had no cycle, and a
 * manager known when its report was inserted is older than it, so a chain of those never comes
 * back: every cycle has an edge written here, from a pending reference, and is walked from it.
 */
export async function cycleStart(db: Kysely<Database>, maxDepth: number): Promise<string | undefined> {
  const { rows } = await sql<{ where_: string }>`with recursive chain(start_id, cur_id, depth) as (
      select dev_user_id, target_id, 1 from import_refs where field = 'reports_to' and mode = 'set'
      union all
      select c.start_id, d.reports_to_id, c.depth + 1 from chain c join dev_users d on d.id = c.cur_id
      where d.reports_to_id is not null and c.cur_id <> c.start_id and c.depth < ${maxDepth}
    )
    select w.where_ from chain c join import_where w on w.dev_user_id = c.start_id
    where c.cur_id = c.start_id limit 1`.execute(db);
  return rows[0]?.where_;
}

/** Whether the org has an active admin (API writes need one; a load may leave it without). */
export async function hasActiveAdmin(db: Kysely<Database>, orgId: number): Promise<boolean> {
  const rows = await readAll(
    db,
    db
      .selectFrom("dev_users")
      .select("id")
      .where("org_id", "=", orgId)
      .where("role", "=", "admin")
      .where("state", "=", "active")
      .limit(1),
  );
  return rows.length > 0;
}
