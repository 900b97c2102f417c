// devusers load and devusers export: the fixture surface (src/fixtures) on the configured database.
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { loadConfig } from "../config.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { loadFixtures } from "../fixtures/load.js";
import { writeExport } from "../fixtures/write.js";
import { systemClock } from "../services/context.js";
import { parseOrg } from "./args.js";
import { Progress } from "./progress.js";

export async function loadCommand(file: string, v: { org?: string; format?: string }): Promise<number> {
  const org = parseOrg(v.org);
  const db = openDatabase(loadConfig());
  const progress = new Progress("load");
  let fraction = 0;
  let count = 0;
  const show = () => progress.update(fraction, `${count} users`);
  try {
    await migrateToLatest(db.kysely);
    const summary = await loadFixtures({ db, now: systemClock }, org, file, {
      format: v.format,
      onRead: (f) => {
        fraction = f;
      },
      onRecord: (n) => {
        count = n;
        if ((n & 255) === 0) show();
      },
    });
    progress.finish(`${count} users`);
    for (const w of summary.warnings) process.stderr.write(`devusers: warning: ${w}\n`);
    process.stdout.write(
      `loaded ${file} into org "${org}": ${summary.created} created, ${summary.unchanged} unchanged in ${progress.seconds()} s\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}

export async function exportCommand(v: { org?: string; out?: string }): Promise<number> {
  const org = parseOrg(v.org);
  const db = openDatabase(loadConfig());
  try {
    await migrateToLatest(db.kysely);
    const deps = { db, now: systemClock };
    if (v.out === undefined) {
      await writeExport(deps, org, process.stdout);
      return 0;
    }
    const out = createWriteStream(v.out);
    const count = await writeExport(deps, org, out);
    out.end();
    await finished(out);
    process.stderr.write(`exported ${count} users of org "${org}" to ${v.out}\n`);
    return 0;
  } finally {
    await db.close();
  }
}
