import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";
import * as initial from "./migrations/2026-11-27T10-00-00_initial.js";
import * as orgIdIndex from "./migrations/2026-11-27T11-30-00_dev-users-org-id-index.js";
import * as perOrgUserNumbers from "./migrations/2026-12-01T10-00-00_per-org-user-numbers.js";
import * as tokenGeneration from "./migrations/2026-12-01T11-00-00_token-generation.js";
import * as changeJournal from "./migrations/2026-12-01T20-00-00_change-journal.js";
import * as webhooks from "./migrations/2026-12-01T21-00-00_webhooks.js";
import * as authTokens from "./migrations/2026-12-02T10-00-00_auth-tokens.js";
import * as pendingDeliveriesIndex from "./migrations/2026-12-02T10-00-00_pending-deliveries-index.js";
import * as journalBlocks from "./migrations/2026-12-02T11-00-00_journal-object-blocks.js";
import * as tokenMakers from "./migrations/2026-12-02T12-00-00_auth-token-makers.js";
import * as journalBlocks64 from "./migrations/2026-12-02T13-00-00_journal-object-blocks-64.js";
import * as webhookPauses from "./migrations/2026-12-02T13-30-00_webhook-pauses.js";
import * as scimConnections from "./migrations/2026-12-02T14-00-00_scim-connections.js";
import * as searchIndexes from "./migrations/2026-12-02T15-00-00_dev-users-search-indexes.js";
import * as issuerRuleWithOrg from "./migrations/2026-12-02T16-00-00_identity-issuer-rule-with-org.js";
import type { Database } from "./types.js";

// Listed here rather than read from disk so the build needs no file-system lookups at start.
// Kysely runs them in the order of their names, whatever the order here.
const migrations: Record<string, Migration> = {
  "2026-11-27T10-00-00_initial": initial,
  "2026-11-27T11-30-00_dev-users-org-id-index": orgIdIndex,
  "2026-12-01T10-00-00_per-org-user-numbers": perOrgUserNumbers,
  "2026-12-01T11-00-00_token-generation": tokenGeneration,
  "2026-12-01T20-00-00_change-journal": changeJournal,
  "2026-12-01T21-00-00_webhooks": webhooks,
  "2026-12-02T10-00-00_auth-tokens": authTokens,
  "2026-12-02T11-00-00_journal-object-blocks": journalBlocks,
  "2026-12-02T12-00-00_auth-token-makers": tokenMakers,
  "2026-12-02T13-00-00_journal-object-blocks-64": journalBlocks64,
  "2026-12-02T13-30-00_webhook-pauses": webhookPauses,
  "2026-12-02T10-00-00_pending-deliveries-index": pendingDeliveriesIndex,
  "2026-12-02T14-00-00_scim-connections": scimConnections,
  "2026-12-02T15-00-00_dev-users-search-indexes": searchIndexes,
  "2026-12-02T16-00-00_identity-issuer-rule-with-org": issuerRuleWithOrg,
};

/** Every migration's name, oldest first. */
export const migrationNames = Object.keys(migrations).sort();

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** A migrator over this schema's migrations (tests use it to stop at an older schema). */
export function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({ db, provider });
}

/**
 * Brings the schema up to date. Kysely's Migrator takes a lock (an advisory lock on
 * PostgreSQL, a lock table on SQLite), so several processes may call this at once.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  if (await upToDate(db)) return [];
  const { error, results } = await migrator(db).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/**
 * Whether Kysely's table records exactly this code's migrations: then the Migrator, after its
 * lock table, its lock and its own reads (about 10 ms of every start on SQLite, 1 ms for this
 * read), would find nothing to do and nothing to complain of. Each migration commits with its
 * record, so a migration under way elsewhere is not counted yet; any other state (no table, one
 * missing, one this code does not know) goes to the Migrator, which applies or refuses as ever.
 */
async function upToDate(db: Kysely<Database>): Promise<boolean> {
  let rows: { name: string }[];
  try {
    rows = (await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows;
  } catch {
    return false; // a new database: no table yet
  }
  const recorded = new Set(rows.map((r) => r.name));
  return recorded.size === migrationNames.length && migrationNames.every((name) => recorded.has(name));
}
