import { type Expression, type ExpressionBuilder, type Kysely, PostgresAdapter, type SqlBool, sql } from "kysely";
import { prepared } from "../prepared.js";
import { readAll, readFirst } from "../reads.js";
import type { Database, DevUserPatch, DevUserRow, IdentityRow, NewDevUser } from "../types.js";
import { searchExpr } from "./dev-user-search.js";
import { identitiesJson, ownersOfIdentities, ownersQuery, splitIdentities } from "./identities.js";
import { allocateUserNumbers } from "./orgs.js";

type Eb = ExpressionBuilder<Database, "dev_users">;

const isPostgres = (db: Kysely<Database>) => db.getExecutor().adapter instanceof PostgresAdapter;

// Two ways to name a user. Its primary key `id` is database-wide: foreign keys, tokens and
// everything inside a request use it, and it never leaves the service. Its `number` is its org's:
// a wire id (`DEVU-<n>`, `…:devu/<n>`) carries it, and is read by the ...ByNumber functions,
// always together with the caller's org, through the (org_id, number) unique index.

const devUserById = prepared((db, orgId: number, id: number) =>
  db.selectFrom("dev_users").selectAll().where("id", "=", id).where("org_id", "=", orgId),
);

/** A user of an org by primary key (a token's subject, a foreign key), or undefined. */
export function findDevUser(db: Kysely<Database>, orgId: number, id: number): Promise<DevUserRow | undefined> {
  return devUserById.first(db, orgId, id);
}

const devUserByNumber = prepared((db, orgId: number, number: number) =>
  db.selectFrom("dev_users").selectAll().where("org_id", "=", orgId).where("number", "=", number),
);

/** The user an org knows by this number (what a wire id names), or undefined. */
export function findDevUserByNumber(
  db: Kysely<Database>,
  orgId: number,
  number: number,
): Promise<DevUserRow | undefined> {
  return devUserByNumber.first(db, orgId, number);
}

const devUserWithIdentities = prepared((db, orgId: number, number: number) =>
  db
    .selectFrom("dev_users")
    .leftJoin("external_identities", "external_identities.dev_user_id", "dev_users.id")
    .selectAll("dev_users")
    .select([
      "external_identities.id as identity_id",
      "external_identities.org_id as identity_org_id",
      "external_identities.issuer as identity_issuer",
      "external_identities.external_id as identity_external_id",
      "external_identities.display_name as identity_display_name",
      "external_identities.is_verified as identity_is_verified",
      "external_identities.created_date as identity_created_date",
    ])
    .where("dev_users.org_id", "=", orgId)
    .where("dev_users.number", "=", number)
    .orderBy("external_identities.id"),
);

/** The user an org knows by this number and its identities (in link order), in one statement. */
export async function findDevUserWithIdentitiesByNumber(
  db: Kysely<Database>,
  orgId: number,
  number: number,
): Promise<{ row: DevUserRow; identities: IdentityRow[] } | undefined> {
  const rows = await devUserWithIdentities.all(db, orgId, number);
  const first = rows[0];
  if (!first) return undefined;
  const {
    identity_id: _id,
    identity_org_id: _org,
    identity_issuer: _issuer,
    identity_external_id: _externalId,
    identity_display_name: _displayName,
    identity_is_verified: _verified,
    identity_created_date: _created,
    ...row
  } = first;
  const identities: IdentityRow[] = [];
  for (const r of rows) {
    if (r.identity_id === null) continue;
    identities.push({
      id: r.identity_id,
      org_id: r.identity_org_id!,
      dev_user_id: r.id,
      issuer: r.identity_issuer!,
      external_id: r.identity_external_id!,
      display_name: r.identity_display_name,
      is_verified: r.identity_is_verified!,
      created_date: r.identity_created_date!,
    });
  }
  return { row, identities };
}

export async function findDevUsers(db: Kysely<Database>, orgId: number, ids: number[]): Promise<DevUserRow[]> {
  if (ids.length === 0) return [];
  return readAll(db, db.selectFrom("dev_users").selectAll().where("org_id", "=", orgId).where("id", "in", ids));
}

/**
 * Users of an org by id with their identities: on PostgreSQL in one statement (identities as
 * JSON); on SQLite the caller reads the identities (`identities` undefined).
 */
export async function findDevUsersWithIdentities(
  db: Kysely<Database>,
  orgId: number,
  ids: number[],
): Promise<{ rows: DevUserRow[]; identities?: Map<number, IdentityRow[]> }> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return { rows: await findDevUsers(db, orgId, ids) };
  if (ids.length === 0) return { rows: [], identities: new Map() };
  const found = await db
    .selectFrom("dev_users")
    .selectAll()
    .select(identitiesJson("dev_users.id").as("found_identities"))
    .where("org_id", "=", orgId)
    .where("id", "in", ids)
    .execute();
  return splitIdentities(found, "found_identities");
}

/** Users of an org, with their identities as JSON (PostgreSQL), whose ids `ids` gives. */
const usersWithIdentities = (db: Kysely<Database>, orgId: number, ids: ReturnType<typeof ownersQuery>) =>
  db
    .selectFrom("dev_users")
    .selectAll()
    .select(identitiesJson("dev_users.id").as("found_identities"))
    .where("org_id", "=", orgId)
    .where("id", "in", ids);

/** Who holds the one exact (issuer, id): the hottest lookup, compiled once. */
const ownerWithIdentities = prepared((db, orgId: number, issuer: string, externalId: string) =>
  usersWithIdentities(db, orgId, ownersQuery(db, orgId, [{ issuer, id: externalId }])),
);

/**
 * The users holding any of these exact (issuer, id) pairs, by primary key: on PostgreSQL with
 * their identities, in one statement; on SQLite the owners' ids first, then their rows, and the
 * caller reads the identities (`identities` undefined).
 */
export async function findOwnersOfIdentities(
  db: Kysely<Database>,
  orgId: number,
  pairs: { issuer: string; id: string }[],
): Promise<{ rows: DevUserRow[]; identities?: Map<number, IdentityRow[]> }> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) {
    const ids = await ownersOfIdentities(db, orgId, pairs);
    if (ids.length !== 1) return { rows: await findDevUsers(db, orgId, ids) };
    const row = await findDevUser(db, orgId, ids[0]!);
    return { rows: row ? [row] : [] };
  }
  const found =
    pairs.length === 1
      ? await ownerWithIdentities.all(db, orgId, pairs[0]!.issuer, pairs[0]!.id)
      : await usersWithIdentities(db, orgId, ownersQuery(db, orgId, pairs)).execute();
  return splitIdentities(found, "found_identities");
}

/**
 * Makes the calling transaction take turns with every other that locks this user, until it ends:
 * a row lock on PostgreSQL (SQLite's writers already take turns). For counts that bound inserts
 * (a user's live tokens), which no unique index can guard.
 */
export async function lockDevUserByNumber(db: Kysely<Database>, orgId: number, number: number): Promise<void> {
  await db
    .updateTable("dev_users")
    .set((eb) => ({ token_generation: eb.ref("token_generation") }))
    .where("org_id", "=", orgId)
    .where("number", "=", number)
    .execute();
}

/** Users of an org by their numbers (what wire ids and tokens name). */
export async function findDevUsersByNumbers(
  db: Kysely<Database>,
  orgId: number,
  numbers: number[],
): Promise<DevUserRow[]> {
  if (numbers.length === 0) return [];
  return readAll(db, db.selectFrom("dev_users").selectAll().where("org_id", "=", orgId).where("number", "in", numbers));
}

export async function findDevUserByEmail(
  db: Kysely<Database>,
  orgId: number,
  email: string,
): Promise<DevUserRow | undefined> {
  return readFirst(
    db,
    db.selectFrom("dev_users").selectAll().where("org_id", "=", orgId).where("email_lower", "=", email.toLowerCase()),
  );
}

export async function countDevUsers(db: Kysely<Database>, orgId: number): Promise<number> {
  const row = await db
    .selectFrom("dev_users")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("org_id", "=", orgId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A new user's columns; its number comes from its org (allocateUserNumbers). */
export type NewDevUserFields = Omit<NewDevUser, "number">;

/**
 * Inserts a user with the next number of its org. Run it inside the transaction that decides the
 * user should exist: on PostgreSQL the org's counter stays locked until that transaction ends.
 */
export async function insertDevUser(db: Kysely<Database>, row: NewDevUserFields): Promise<DevUserRow> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // One round trip: the org's next number taken (its row locked to the commit, so an org's
    // creates take turns) and the user inserted with it.
    // Absent fields keep their column defaults, as the builder's insert leaves them.
    const cols = (Object.keys(row) as (keyof NewDevUserFields)[]).filter((c) => row[c] !== undefined);
    const { rows } = await sql<DevUserRow>`with taken as (
        update orgs set next_user_number = next_user_number + 1 where id = ${row.org_id}
        returning next_user_number - 1 as number
      )
      insert into dev_users (${sql.join(cols.map((c) => sql.ref(c)))}, number)
      select ${sql.join(cols.map((c) => sql`${row[c]}`))}, taken.number from taken
      returning *`.execute(db);
    if (!rows[0]) throw new Error(`org ${row.org_id} does not exist`);
    return rows[0];
  }
  const number = await allocateUserNumbers(db, row.org_id);
  return db
    .insertInto("dev_users")
    .values({ ...row, number })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateDevUser(db: Kysely<Database>, id: number, patch: DevUserPatch): Promise<void> {
  await db.updateTable("dev_users").set(patch).where("id", "=", id).execute();
}

/**
 * Deactivates a user (or, for SCIM's DELETE, marks it deleted) and moves its token generation on,
 * so every token minted before stays refused even if the user is activated again. The increment
 * happens in SQL: two concurrent deactivations cannot both write the same next generation.
 */
export async function deactivateDevUserRow(
  db: Kysely<Database>,
  id: number,
  mark: DevUserPatch,
  state: "deactivated" | "deleted" = "deactivated",
): Promise<void> {
  await db
    .updateTable("dev_users")
    .set((eb) => ({ ...mark, state, token_generation: eb("token_generation", "+", 1) }))
    .where("id", "=", id)
    .execute();
}

/** Updates a user of an org and returns the row, or undefined when the org has no such user. */
export async function updateDevUserInOrg(
  db: Kysely<Database>,
  orgId: number,
  id: number,
  patch: DevUserPatch,
): Promise<DevUserRow | undefined> {
  return db
    .updateTable("dev_users")
    .set(patch)
    .where("id", "=", id)
    .where("org_id", "=", orgId)
    .returningAll()
    .executeTakeFirst();
}

const touch = prepared((db, orgId: number, number: number, now: string, byId: number) =>
  db
    .updateTable("dev_users")
    .set({ modified_date: now, modified_by_id: byId })
    .where("org_id", "=", orgId)
    .where("number", "=", number)
    .returningAll(),
);

const previousMark = prepared((db, orgId: number, number: number) => {
  const q = db
    .selectFrom("dev_users")
    .select(["modified_date", "modified_by_id"])
    .where("org_id", "=", orgId)
    .where("number", "=", number);
  // PostgreSQL: the row is locked from this read on, so what it read is what the touch replaces.
  // SQLite's writers already take turns.
  return db.getExecutor().adapter instanceof PostgresAdapter ? q.forUpdate() : q;
});

export interface Touched {
  row: DevUserRow;
  /** What the touch replaced: the user as it was is `{ ...row, ...previous }`. */
  previous: Pick<DevUserRow, "modified_date" | "modified_by_id">;
}

/**
 * Marks the user an org knows by this number as modified now by `byId` (a primary key), and returns
 * its row and what the mark replaced, or undefined when the org has no such user.
 */
export async function touchDevUserByNumber(
  db: Kysely<Database>,
  orgId: number,
  number: number,
  now: string,
  byId: number,
): Promise<Touched | undefined> {
  const previous = await previousMark.first(db, orgId, number);
  if (!previous) return undefined;
  const row = await touch.first(db, orgId, number, now, byId);
  return row && { row, previous };
}

/** Points everyone who reported to `fromId` at `toId` (merge), except `toId` itself. */
export async function moveReports(db: Kysely<Database>, fromId: number, toId: number, mark: DevUserPatch) {
  await db
    .updateTable("dev_users")
    .set({ ...mark, reports_to_id: toId })
    .where("reports_to_id", "=", fromId)
    .where("id", "<>", toId)
    .execute();
  await db
    .updateTable("dev_users")
    .set({ ...mark, reports_to_id: null })
    .where("reports_to_id", "=", fromId)
    .where("id", "=", toId)
    .execute();
}

/** Active admins of an org other than `exceptId`. */
export async function countOtherActiveAdmins(db: Kysely<Database>, orgId: number, exceptId: number): Promise<number> {
  const row = await db
    .selectFrom("dev_users")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("org_id", "=", orgId)
    .where("role", "=", "admin")
    .where("state", "=", "active")
    .where("id", "<>", exceptId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The chain of managers above `id`, nearest first, at most `limit` long. */
export async function managerChain(db: Kysely<Database>, id: number, limit: number): Promise<number[]> {
  const chain: number[] = [];
  let current: number | null = id;
  while (current !== null && chain.length < limit) {
    const row: { reports_to_id: number | null } | undefined = await db
      .selectFrom("dev_users")
      .select("reports_to_id")
      .where("id", "=", current)
      .executeTakeFirst();
    current = row?.reports_to_id ?? null;
    if (current !== null) chain.push(current);
  }
  return chain;
}

export async function setPhoneNumbers(db: Kysely<Database>, id: number, numbers: string[]): Promise<void> {
  await db.deleteFrom("dev_user_phone_numbers").where("dev_user_id", "=", id).execute();
  if (numbers.length > 0) {
    await db
      .insertInto("dev_user_phone_numbers")
      .values(numbers.map((phone_number) => ({ dev_user_id: id, phone_number })))
      .execute();
  }
  await db
    .updateTable("dev_users")
    .set({ phone_numbers: JSON.stringify(numbers) })
    .where("id", "=", id)
    .execute();
}

// ---- listing ---------------------------------------------------------------------------------

/** `number` is the tie-breaker: unique in an org, and the last column of every keyset index. */
export type SortColumn = "number" | "created_date" | "modified_date" | "display_name" | "full_name" | "email_lower";
export interface SortKey {
  column: SortColumn;
  desc: boolean;
}
export interface DateRange {
  after?: string;
  before?: string;
}
export interface ListFilter {
  /** Users already known by primary key (exact identity lookups, resolved first). */
  ids?: number[];
  emails?: string[];
  states?: string[];
  identities?: { issuer?: string; id?: string }[];
  created?: DateRange;
  modified?: DateRange;
  phoneNumbers?: string[];
  timezones?: string[];
  /** Already lower-cased: a prefix of the display name, the full name or the email. */
  search?: string;
}
export interface ListQuery {
  orgId: number;
  filter: ListFilter;
  /** Sort keys; the last one must be `number` so the order is total within the org. */
  sort: SortKey[];
  /** Values of `sort` for the row the page starts beyond, or none for the first page. */
  boundary?: (string | number)[];
  /** "after": rows following the boundary in sort order; "before": rows preceding it. */
  direction: "after" | "before";
  limit: number;
}

function filterExpr(eb: Eb, orgId: number, f: ListFilter, pg: boolean): Expression<SqlBool> {
  const conds: Expression<SqlBool>[] = [eb("dev_users.org_id", "=", orgId)];
  if (f.search !== undefined) conds.push(searchExpr(eb, f.search, pg));
  if (f.ids) conds.push(eb("dev_users.id", "in", f.ids.length ? f.ids : [0]));
  if (f.emails) conds.push(eb("dev_users.email_lower", "in", f.emails.length ? f.emails : [""]));
  if (f.states) conds.push(eb("dev_users.state", "in", f.states.length ? f.states : [""]));
  if (f.timezones) conds.push(eb("dev_users.timezone", "in", f.timezones.length ? f.timezones : [""]));
  for (const [col, range] of [
    ["dev_users.created_date", f.created],
    ["dev_users.modified_date", f.modified],
  ] as const) {
    if (range?.after) conds.push(eb(col, ">=", range.after));
    if (range?.before) conds.push(eb(col, "<=", range.before));
  }
  if (f.identities && f.identities.length > 0) {
    const identities = f.identities;
    // An IN over the (org_id, issuer, external_id) unique index: a lookup, not a scan.
    conds.push(
      eb(
        "dev_users.id",
        "in",
        eb
          .selectFrom("external_identities")
          .select("external_identities.dev_user_id")
          .where("external_identities.org_id", "=", orgId)
          .where((ib) =>
            ib.or(
              identities.map((i) => {
                const parts: Expression<SqlBool>[] = [];
                if (i.issuer !== undefined) parts.push(ib("external_identities.issuer", "=", i.issuer));
                if (i.id !== undefined) parts.push(ib("external_identities.external_id", "=", i.id));
                return ib.and(parts);
              }),
            ),
          ),
      ),
    );
  }
  if (f.phoneNumbers) {
    conds.push(
      eb(
        "dev_users.id",
        "in",
        eb
          .selectFrom("dev_user_phone_numbers")
          .select("dev_user_phone_numbers.dev_user_id")
          .where("dev_user_phone_numbers.phone_number", "in", f.phoneNumbers.length ? f.phoneNumbers : [""]),
      ),
    );
  }
  return eb.and(conds);
}

/** Rows strictly beyond `boundary` in the order `sort` read in `direction`. */
function keysetExpr(eb: Eb, sort: SortKey[], boundary: (string | number)[], direction: "after" | "before") {
  const ors: Expression<SqlBool>[] = [];
  for (let i = 0; i < sort.length; i++) {
    const ands: Expression<SqlBool>[] = [];
    for (let j = 0; j < i; j++) {
      ands.push(eb(`dev_users.${sort[j]!.column}`, "=", boundary[j]!));
    }
    const key = sort[i]!;
    const forward = key.desc ? "<" : ">";
    const backward = key.desc ? ">" : "<";
    ands.push(eb(`dev_users.${key.column}`, direction === "after" ? forward : backward, boundary[i]!));
    ors.push(eb.and(ands));
  }
  return eb.or(ors);
}

/** One page in `direction`, fetched with one extra row so the caller knows whether more exist. */
export async function listDevUsers(db: Kysely<Database>, q: ListQuery): Promise<DevUserRow[]> {
  return readAll(db, listQuery(db, q));
}

/**
 * A page of users with their identities. On PostgreSQL in one statement, each row's identities
 * as JSON (a round trip fewer); on SQLite, where a second indexed read costs microseconds, the
 * caller reads them (`identities` undefined).
 */
export async function listDevUsersWithIdentities(
  db: Kysely<Database>,
  q: ListQuery,
): Promise<{ rows: DevUserRow[]; identities?: Map<number, IdentityRow[]> }> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return { rows: await listDevUsers(db, q) };
  const found = await listQuery(db, q).select(identitiesJson("dev_users.id").as("page_identities")).execute();
  return splitIdentities(found, "page_identities");
}

function listQuery(db: Kysely<Database>, q: ListQuery) {
  let query = db
    .selectFrom("dev_users")
    .selectAll()
    .where((eb) => filterExpr(eb, q.orgId, q.filter, isPostgres(db)));
  if (q.boundary) {
    const boundary = q.boundary;
    query = query.where((eb) => keysetExpr(eb, q.sort, boundary, q.direction));
  }
  for (const key of q.sort) {
    const desc = q.direction === "after" ? key.desc : !key.desc;
    query = query.orderBy(`dev_users.${key.column}`, desc ? "desc" : "asc");
  }
  // A literal: SQLite prepares a statement again whenever a bound LIMIT changes (10 us a query).
  return query.limit(sql.lit(q.limit + 1));
}

/** Whether any row lies beyond `boundary` in `direction` (for prev_cursor / next_cursor). */
export async function anyBeyond(
  db: Kysely<Database>,
  q: Omit<ListQuery, "limit"> & { boundary: (string | number)[] },
): Promise<boolean> {
  const row = await readFirst(
    db,
    db
      .selectFrom("dev_users")
      .select("dev_users.id")
      .where((eb) =>
        eb.and([filterExpr(eb, q.orgId, q.filter, isPostgres(db)), keysetExpr(eb, q.sort, q.boundary, q.direction)]),
      )
      .limit(sql.lit(1)),
  );
  return row !== undefined;
}
