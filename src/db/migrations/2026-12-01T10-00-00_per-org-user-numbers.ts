// Frozen in time: this file must keep producing the same schema forever. It imports nothing
// from the application and speaks to Kysely<any>.
//
// User numbers per org. Until now a user's wire id (`DEVU-<n>`, `…:devu/<n>`) was its primary key,
// which every org of a database shares, so an org could count another's creates from the gaps.
// Each user gets `number`, unique within its org, and each org a counter, `next_user_number`.
// Every existing user keeps number = id, so every id already handed out still names the same
// user; each org's counter starts past its largest number. The primary key stays what foreign
// keys (and tokens) refer to.
//
// The keyset indexes of listing end in `number` instead of `id` (number is the list's tie-breaker
// now, so cursors carry nothing database-wide), and `(org_id, number)` is unique: it replaces the
// `(org_id, id)` index for listing in creation order and serves every lookup by wire id.
import { type Kysely, PostgresAdapter, sql } from "kysely";

const SORTED = ["created_date", "modified_date", "display_name", "full_name"] as const;

export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) await upPostgres(db);
  else await upSqlite(db);
}

async function createIndexes(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex("dev_users_org_number_uq")
    .on("dev_users")
    .columns(["org_id", "number"])
    .unique()
    .execute();
  for (const col of SORTED) {
    await db.schema
      .createIndex(`dev_users_org_${col}_number_idx`)
      .on("dev_users")
      .columns(["org_id", col, "number"])
      .execute();
  }
}

/** Each org's counter, one past the largest number its users hold (1 for an org without users). */
async function startCounters(db: Kysely<any>): Promise<void> {
  await sql`update orgs set next_user_number =
    coalesce((select max(u.number) from dev_users u where u.org_id = orgs.id), 0) + 1`.execute(db);
}

// PostgreSQL: the migrator runs all of this in one transaction (DDL is transactional there), which
// holds dev_users exclusively until it commits. The column is filled by one rewrite of the table
// (ALTER … TYPE … USING) rather than an UPDATE of every row: a fresh table and indexes, built in
// bulk, instead of a dead version of every row and an index entry per row in every index. Measured
// at a million users: 9 s and no growth, against 21 s and the table doubled. The old keyset
// indexes go first, so the rewrite does not rebuild them.
async function upPostgres(db: Kysely<any>): Promise<void> {
  for (const col of SORTED) await db.schema.dropIndex(`dev_users_org_${col}_idx`).execute();
  await db.schema.dropIndex("dev_users_org_id_idx").execute();

  // A constant default costs nothing to add (no rewrite); the next statement is the one rewrite.
  await db.schema
    .alterTable("dev_users")
    .addColumn("number", "bigint", (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`alter table dev_users
    alter column number type bigint using id,
    alter column number drop default,
    add constraint dev_users_number_check check (number > 0)`.execute(db);
  await createIndexes(db);

  await db.schema
    .alterTable("orgs")
    .addColumn("next_user_number", "bigint", (c) => c.notNull().defaultTo(1).check(sql`next_user_number > 0`))
    .execute();
  await startCounters(db);
}

/** The columns of dev_users as the initial migration made them, in order. */
const SQLITE_COLUMNS = [
  "id",
  "org_id",
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
];

// SQLite cannot add a NOT NULL column without a default, nor a CHECK that existing rows would
// fail, so dev_users is made again with the column, as https://www.sqlite.org/lang_altertable.html
// ("Making Other Kinds Of Table Schema Changes") describes: foreign keys off (outside any
// transaction, or the pragma does nothing), then in one transaction create the new table, copy,
// drop the old, rename the new, make the indexes, check the foreign keys; then foreign keys back.
// Kysely's migrator gives SQLite one connection and no transaction of its own.
async function upSqlite(db: Kysely<any>): Promise<void> {
  const fk = (await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db)).rows[0]?.foreign_keys ?? 0;
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await sql`begin immediate`.execute(db);
    try {
      await rebuildSqlite(db);
      await sql`commit`.execute(db);
    } catch (err) {
      await sql`rollback`.execute(db);
      throw err;
    }
  } finally {
    await sql.raw(`pragma foreign_keys = ${fk ? "on" : "off"}`).execute(db);
  }
}

async function rebuildSqlite(db: Kysely<any>): Promise<void> {
  // Read inside the transaction: another process that migrated first has changed the table.
  const columns = (await sql<{ name: string }>`pragma table_info(dev_users)`.execute(db)).rows.map((r) => r.name);
  if (columns.join(",") !== SQLITE_COLUMNS.join(",")) {
    // Copying by a fixed column list would drop a column this migration does not know of.
    throw new Error(`dev_users has columns (${columns.join(", ")}), not those this migration copies`);
  }
  await db.schema
    .createTable("dev_users_new")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("org_id", "integer", (c) => c.notNull().references("orgs.id"))
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("email_lower", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("full_name", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull().defaultTo("member"))
    .addColumn("job_title", "text")
    .addColumn("experience_start_date", "text")
    // Named as the table will be once renamed: SQLite resolves a reference when it is used.
    .addColumn("reports_to_id", "integer", (c) => c.references("dev_users.id"))
    .addColumn("custom_fields", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("job_history", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("availability_modes", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("skills", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("phone_numbers", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("timezone", "text")
    .addColumn("created_by_id", "integer")
    .addColumn("modified_by_id", "integer")
    .addColumn("created_date", "text", (c) => c.notNull())
    .addColumn("modified_date", "text", (c) => c.notNull())
    .addColumn("number", "integer", (c) => c.notNull().check(sql`number > 0`))
    .addCheckConstraint(
      "dev_users_state_check",
      sql`state in ('active','deactivated','deleted','locked','shadow','unassigned')`,
    )
    .addCheckConstraint("dev_users_role_check", sql`role in ('admin','member')`)
    .execute();

  const list = sql.join(SQLITE_COLUMNS.map((c) => sql.ref(c)));
  await sql`insert into dev_users_new (${list}, number) select ${list}, id from dev_users`.execute(db);

  // AUTOINCREMENT never hands out an id again, even one whose row is gone: keep its high mark.
  const seq = (await sql<{ seq: number }>`select seq from sqlite_sequence where name = 'dev_users'`.execute(db)).rows[0]
    ?.seq;
  await db.schema.dropTable("dev_users").execute();
  await sql`alter table dev_users_new rename to dev_users`.execute(db);
  if (seq !== undefined) {
    await sql`delete from sqlite_sequence where name = 'dev_users'`.execute(db);
    await sql`insert into sqlite_sequence (name, seq)
      values ('dev_users', max(${seq}, coalesce((select max(id) from dev_users), 0)))`.execute(db);
  }

  // The indexes went with the old table; the email rule comes back as it was.
  await db.schema
    .createIndex("dev_users_org_email_uq")
    .on("dev_users")
    .columns(["org_id", "email_lower"])
    .unique()
    .execute();
  await createIndexes(db);

  await db.schema
    .alterTable("orgs")
    .addColumn("next_user_number", "integer", (c) => c.notNull().defaultTo(1).check(sql`next_user_number > 0`))
    .execute();
  await startCounters(db);

  const broken = (await sql`pragma foreign_key_check`.execute(db)).rows;
  if (broken.length > 0) throw new Error(`foreign keys broken by the rebuild: ${JSON.stringify(broken)}`);
}

// Back to numbers shared by the whole database. Users made since `up` keep their rows, but the old
// code names them by primary key, which is not the number they were given.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("dev_users_org_number_uq").execute();
  for (const col of SORTED) await db.schema.dropIndex(`dev_users_org_${col}_number_idx`).execute();
  for (const col of SORTED) {
    await db.schema.createIndex(`dev_users_org_${col}_idx`).on("dev_users").columns(["org_id", col, "id"]).execute();
  }
  await db.schema.createIndex("dev_users_org_id_idx").on("dev_users").columns(["org_id", "id"]).execute();
  // Their CHECK constraints go with the columns, on both databases.
  await db.schema.alterTable("dev_users").dropColumn("number").execute();
  await db.schema.alterTable("orgs").dropColumn("next_user_number").execute();
}
