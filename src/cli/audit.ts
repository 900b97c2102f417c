// devusers audit: an org's audit log as JSON lines, oldest first, for piping into other tools.
// With --follow it keeps printing entries as they are committed, until interrupted.
import { loadConfig } from "../config.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { AdminError } from "../services/admin.js";
import { auditEntriesSince } from "../services/audit.js";
import { systemClock } from "../services/context.js";

const PAGE = 500;
const POLL_MS = 250;

export async function auditCommand(options: { org: string; follow: boolean }): Promise<number> {
  const db = openDatabase(loadConfig());
  let stop = false;
  const interrupted = () => {
    stop = true;
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    await migrateToLatest(db.kysely);
    const deps = { db, now: systemClock };
    let after = 0;
    for (;;) {
      const entries = await auditEntriesSince(deps, options.org, after, PAGE);
      if (entries === undefined) throw new AdminError(`no org ${options.org}`);
      for (const e of entries) process.stdout.write(`${JSON.stringify(e)}\n`);
      after = entries.at(-1)?.seq ?? after;
      if (entries.length === PAGE) continue;
      if (!options.follow || stop) return 0;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (stop) return 0;
    }
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await db.close();
  }
}
