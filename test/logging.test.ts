// A 500's reference_id is logged beside its cause, so an operator can find one from the other.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/database.js";
import { migrateToLatest } from "../src/db/migrate.js";
import { issueToken } from "../src/services/admin.js";
import { systemClock } from "../src/services/context.js";
import { ensureSigningKey, KeyRing } from "../src/services/keys.js";

describe("logging", () => {
  const dir = mkdtempSync(join(tmpdir(), "devusers-log-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A service on a new database whose log lines are collected, and an admin's token. */
  async function startLogged(file: string, level: "debug" | "info") {
    const config = loadConfig({ DATABASE_URL: join(dir, file), LOG_LEVEL: level });
    const db = openDatabase(config);
    await migrateToLatest(db.kysely);
    await ensureSigningKey(db.kysely, systemClock());
    const token = await issueToken({ db, now: systemClock }, new KeyRing(db.kysely), {
      email: "admin@example.com",
      org: "default",
      ttlSeconds: 60,
    });
    const lines: any[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const service = await buildApp({ config, db, logger: { level, stream } });
    return { db, token, lines, service };
  }

  it("logs an internal error's reference_id with its cause", async () => {
    const { db, token, lines, service } = await startLogged("db.sqlite", "info");
    const ok = await service.app.inject({ method: "GET", url: "/dev-users.self", headers: { authorization: token } });
    assert.equal(ok.statusCode, 200);

    await db.close(); // every query now throws an unexpected error
    const res = await service.app.inject({ method: "GET", url: "/dev-users.self", headers: { authorization: token } });
    assert.equal(res.statusCode, 500);
    const body = res.json();
    assert.equal(body.type, "internal_error");
    assert.doesNotMatch(res.body, /at .*\.js:\d+/, "no stack trace in the body");
    const logged = lines.find((l) => l.reference_id === body.reference_id);
    assert.ok(logged, "the reference_id is in the log");
    assert.equal(logged.level, 50);
    assert.ok(logged.err?.message, "the log line carries the cause");
    assert.match(logged.err.stack, /\n\s+at /, "with its stack");
    await service.app.close();
  });

  it("writes access logs at debug, the level that turns them on, and never at info", async () => {
    for (const level of ["debug", "info"] as const) {
      const { db, token, lines, service } = await startLogged(`access-${level}.sqlite`, level);
      const res = await service.app.inject({
        method: "GET",
        url: "/dev-users.self",
        headers: { authorization: token },
      });
      assert.equal(res.statusCode, 200);
      const access = lines.filter((l) => l.msg === "incoming request" || l.msg === "request completed");
      if (level === "debug") {
        assert.deepEqual(
          access.map((l) => [l.msg, l.level]),
          [
            ["incoming request", 20],
            ["request completed", 20],
          ],
        );
        assert.doesNotMatch(JSON.stringify(access), new RegExp(token.slice(-20)), "no token in the access log");
      } else {
        assert.deepEqual(access, []);
      }
      await service.app.close();
      await db.close();
    }
  });
});
