// One `devusers serve` per SQLite file. Two would each keep their own caches and checkpoint
// thread over one file, which this service does not support; the CLI beside a server is fine.
// The lock is a small SQLite file next to the database, held in EXCLUSIVE locking mode by the
// serving process: the operating system drops it when that process ends, however it ends.
import type SQLite from "better-sqlite3";
import { openSqliteFile } from "./sqlite-driver.js";

export class ServeLockError extends Error {}

export interface ServeLock {
  release(): void;
}

/** SQLite's codes for a place where no file can be made or written: opening the database says why. */
const UNWRITABLE = new Set(["SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_IOERR"]);

export function takeServeLock(databasePath: string): ServeLock {
  const lockPath = `${databasePath}.serve-lock`;
  let conn: SQLite.Database;
  try {
    conn = openSqliteFile(lockPath);
  } catch (err) {
    // The database cannot be served from there either, and opening it names the path and cause.
    if (UNWRITABLE.has(String((err as { code?: string }).code))) return { release: () => {} };
    throw err;
  }
  try {
    conn.pragma("busy_timeout = 0");
    conn.pragma("locking_mode = EXCLUSIVE");
    // What the lock file holds does not matter, only that it is locked: no journal, no fsync.
    conn.pragma("journal_mode = OFF");
    conn.pragma("synchronous = OFF");
    // The first write takes the exclusive lock; in EXCLUSIVE mode it is kept until close.
    conn.exec("create table if not exists holder (pid integer); delete from holder;");
    conn.prepare("insert into holder (pid) values (?)").run(process.pid);
  } catch (err) {
    conn.close();
    const code = String((err as { code?: string }).code);
    if (UNWRITABLE.has(code) || code.startsWith("SQLITE_READONLY")) return { release: () => {} };
    if (code === "SQLITE_BUSY") {
      throw new ServeLockError(
        `another devusers serve is already running on ${databasePath} (it holds ${lockPath}); stop it first, or give this one another DATABASE_URL`,
      );
    }
    throw err;
  }
  return { release: () => conn.close() };
}
