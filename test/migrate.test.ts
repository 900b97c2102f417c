// migrateToLatest(): a database that records every migration of this code is taken as up to date
// with one read, without Kysely's Migrator; any other database still goes through the Migrator,
// which applies what is missing and refuses what it does not know.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type Kysely, sql } from "kysely";
import { loadConfig } from "../src/config.js";
import { type Db, openDatabase } from "../src/db/database.js";
import { migrateToLatest, migrationNames, migrator } from "../src/db/migrate.js";
import { createPgDatabase, type TestDialect, testDialects } from "./helpers/databases.js";

async function scratchDatabase(dialect: TestDialect): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === "postgres") return createPgDatabase();
  const dir = mkdtempSync(join(tmpdir(), "devusers-migrate-"));
  return { url: join(dir, "db.sqlite"), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

for (const { dialect, skip } of await testDialects()) {
  describe(`migrateToLatest [${dialect}]`, { skip }, () => {
    const drops: (() => Promise<void>)[] = [];
    after(async () => {
      for (const drop of drops) await drop();
    });
    /** A new, empty database, closed by the caller. */
    const fresh = async (): Promise<Db> => {
      const scratch = await scratchDatabase(dialect);
      drops.push(scratch.drop);
      return openDatabase(loadConfig({ DATABASE_URL: scratch.url, LOG_LEVEL: "silent" }));
    };
    const recorded = async (db: Db) =>
      (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db.kysely)).rows.map(
        (r) => r.name,
      );

    it("applies every migration to a new database, then finds nothing to do", async () => {
      const db = await fresh();
      try {
        assert.deepEqual(await migrateToLatest(db.kysely), migrationNames);
        assert.deepEqual(await migrateToLatest(db.kysely), []);
        assert.deepEqual(await recorded(db), migrationNames);
      } finally {
        await db.close();
      }
    });

    it("applies the migrations a database lacks", async () => {
      const db = await fresh();
      try {
        const { error } = await migrator(db.kysely).migrateTo(migrationNames[2]!);
        assert.ifError(error);
        assert.deepEqual(await migrateToLatest(db.kysely), migrationNames.slice(3));
        assert.deepEqual(await recorded(db), migrationNames);
      } finally {
        await db.close();
      }
    });

    it("the identity-per-issuer rule's migration runs again after stopping at any step, and comes down", async () => {
      const name = "2026-12-02T16-00-00_identity-issuer-rule-with-org";
      const ruleColumns = async (k: Kysely<any>) =>
        dialect === "postgres"
          ? (
              await sql<{
                def: string;
              }>`select pg_get_indexdef(to_regclass('external_identities_user_issuer_uq')) as def`.execute(k)
            ).rows[0]?.def.replace(/.*\((.*)\)$/, "$1")
          : (
              await sql<{
                name: string;
              }>`select name from pragma_index_info('external_identities_user_issuer_uq')`.execute(k)
            ).rows
              .map((r) => r.name)
              .join(", ");
      const db = await fresh();
      try {
        await migrateToLatest(db.kysely);
        const k = db.kysely as unknown as Kysely<any>;
        assert.equal(await ruleColumns(k), "dev_user_id, issuer, org_id");
        // As if it had stopped between its steps: the stand-in built, the old rule gone, not recorded.
        const standIn = sql`create unique index external_identities_user_issuer_org_uq
          on external_identities (dev_user_id, issuer, org_id)`;
        const dropRule = sql`drop index external_identities_user_issuer_uq`;
        for (const steps of [[standIn], [standIn, dropRule]]) {
          await k.deleteFrom("kysely_migration").where("name", "=", name).execute();
          for (const step of steps) await step.execute(k);
          assert.deepEqual(await migrateToLatest(db.kysely), [name]);
          assert.equal(await ruleColumns(k), "dev_user_id, issuer, org_id");
        }
        const { error } = await migrator(db.kysely).migrateDown();
        assert.ifError(error);
        assert.equal(await ruleColumns(k), "dev_user_id, issuer");
        assert.deepEqual(await migrateToLatest(db.kysely), [name]);
      } finally {
        await db.close();
      }
    });

    it("refuses a database that records a migration this code does not know, as the Migrator does", async () => {
      const db = await fresh();
      try {
        await migrateToLatest(db.kysely);
        const k = db.kysely as unknown as Kysely<any>;
        await k
          .insertInto("kysely_migration")
          .values({ name: "2999-01-01T00-00-00_from-a-newer-version", timestamp: new Date().toISOString() })
          .execute();
        await assert.rejects(migrateToLatest(db.kysely), /corrupted migrations/);
      } finally {
        await db.close();
      }
    });
  });
}
