// One `devusers serve` per SQLite file. Two would each keep their own caches and checkpoint
// thread over one file, which this service does not support; the CLI beside a server is fine.
// The lock is a small SQLite file next to the database, held in EXCLUSIVE locking mode by the
// serving process: the operating system drops it when that process ends, however it ends.
import SQLite from "better-sqlite3";

export class ServeLockError extends Error {}

export interface ServeLock {
  release(): void;
}

export function takeServeLock(databasePath: string): ServeLock {
  const lockPath = `${databasePath}.serve-lock`;
  const conn = new SQLite(lockPath);
  try {
    conn.pragma("busy_timeout = 0");
    conn.pragma("locking_mode = EXCLUSIVE");
    // The first write takes the exclusive lock; in EXCLUSIVE mode it is kept until close.
    conn.exec("create table if not exists holder (pid integer); delete from holder;");
    conn.prepare("insert into holder (pid) values (?)").run(process.pid);
  } catch (err) {
    conn.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") {
      throw new ServeLockError(
        `another devusers serve is already running on ${databasePath} (it holds ${lockPath}); stop it first, or give this one another DATABASE_URL`,
      );
    }
    throw err;
  }
  return { release: () => conn.close() };
}
