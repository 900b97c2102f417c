// Checkpoints in a worker thread (src/db/checkpoints.ts): the writer's own automatic checkpoints
// are off only while the worker runs, the WAL stays bounded under a steady stream of commits, and
// a worker that cannot start leaves SQLite's own checkpoints in place.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import SQLite from "better-sqlite3";
import { checkpointInBackground } from "../src/db/checkpoints.js";
import { commitWatch } from "../src/db/sqlite.js";

const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("checkpoints in the background", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "devusers-ckpt-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the WAL bounded while commits never stop, and hands checkpoints back on stop", async () => {
    const file = join(dir, "busy.sqlite");
    const writer = new SQLite(file);
    writer.pragma("journal_mode = WAL");
    writer.exec("create table t (k integer primary key, v text)");
    const autocheckpoint = () => writer.pragma("wal_autocheckpoint", { simple: true });
    const { frames } = commitWatch(file, writer);
    assert.ok(frames, "the WAL's length is read from the -shm file");
    const checkpoints = checkpointInBackground(writer, file, "FULL", {
      intervalMs: 5,
      catchUpFrames: 200,
      walFrames: frames,
    });
    try {
      await until("the worker runs", () => autocheckpoint() === 0);
      const insert = writer.prepare("insert into t (v) values (?)");
      const filler = "x".repeat(3000);
      let waits = 0;
      const walSizes: number[] = [];
      for (let batch = 0; batch < 800; batch++) {
        const wait = checkpoints.beforeWrite();
        if (wait) {
          waits++;
          await wait;
        }
        writer.transaction(() => {
          for (let i = 0; i < 10; i++) insert.run(filler);
        })();
        if (batch % 100 === 99) walSizes.push(statSync(`${file}-wal`).size);
        // Commits follow each other closely, as under load, with the event loop free in between.
        await new Promise((r) => setImmediate(r));
      }
      // 800 commits of about 10 pages: some 30 MB of WAL if it never started over. The file keeps
      // its largest size: 200 frames and one commit past them, about 1 MB.
      assert.ok(waits > 0, "writes waited for the worker to catch up");
      assert.ok(walSizes.at(-1)! < 1.5 * 1024 * 1024, `the WAL grew to ${walSizes.join(", ")} bytes`);
      assert.equal(writer.prepare("select count(*) from t").pluck().get(), 8000);
    } finally {
      await checkpoints.stop();
    }
    assert.equal(autocheckpoint(), 1000);
    writer.close();
  });

  it("hands checkpoints back to SQLite while another connection keeps the WAL from starting over", async () => {
    const file = join(dir, "pinned.sqlite");
    const writer = new SQLite(file);
    writer.pragma("journal_mode = WAL");
    writer.exec("create table t (k integer primary key, v text)");
    const autocheckpoint = () => writer.pragma("wal_autocheckpoint", { simple: true });
    const { frames } = commitWatch(file, writer);
    const checkpoints = checkpointInBackground(writer, file, "FULL", {
      intervalMs: 5,
      catchUpFrames: 20,
      walFrames: frames,
    });
    const pin = new SQLite(file, { readonly: true });
    try {
      await until("the worker runs", () => autocheckpoint() === 0);
      const insert = writer.prepare("insert into t (v) values (?)");
      insert.run("x".repeat(3000));
      // A read transaction left open in another process holds its snapshot: nothing after it can
      // be copied into the database file, so no checkpoint catches up.
      pin.exec("begin");
      pin.prepare("select count(*) from t").get();
      for (let i = 0; i < 200 && autocheckpoint() === 0; i++) {
        await checkpoints.beforeWrite();
        insert.run("x".repeat(3000));
      }
      assert.equal(autocheckpoint(), 1000, "SQLite's own checkpoints are back on");
    } finally {
      if (pin.inTransaction) pin.exec("commit");
      pin.close();
      await checkpoints.stop();
    }
    writer.close();
  });

  it("leaves SQLite's own checkpoints on when the worker cannot open the database", async () => {
    const file = join(dir, "plain.sqlite");
    const writer = new SQLite(file);
    writer.pragma("journal_mode = WAL");
    const checkpoints = checkpointInBackground(writer, join(dir, "missing", "nowhere.sqlite"), "FULL");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(writer.pragma("wal_autocheckpoint", { simple: true }), 1000);
    assert.equal(checkpoints.beforeWrite(), undefined);
    await checkpoints.stop(); // must not hang on a worker that is already gone
    writer.close();
  });
});
