// SQLite through better-sqlite3: one writing connection behind group commit (src/db/writes.ts),
// and a read-only one for reads outside transactions (src/db/reads.ts).
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
} from "node:fs";
import { endianness } from "node:os";
import { basename, dirname } from "node:path";
import type SQLite from "better-sqlite3";
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement } from "kysely";
import { type Checkpoints, checkpointInBackground } from "./checkpoints.js";
import type { Db, DbConfig } from "./database.js";
import { type DirectConnection, registerDirect } from "./reads.js";
import { openSqliteFile } from "./sqlite-driver.js";
import type { Database } from "./types.js";
import { groupCommit } from "./writes.js";

/** The file a SQLite DATABASE_URL names: a plain path, `sqlite:path` or `sqlite://path`. */
export function sqlitePath(url: string): string {
  if (url.startsWith("sqlite://")) return url.slice("sqlite://".length);
  if (url.startsWith("sqlite:")) return url.slice("sqlite:".length);
  return url;
}

/** The writer and, for a file, the read-only connection beside it. */
function openConnections(path: string, config: DbConfig): { conn: SQLite.Database; reader?: SQLite.Database } {
  if (path === ":memory:") return { conn: configureWriter(openSqliteFile(path), config) };
  // SQLite says only "unable to open database file" when it cannot, and opens a file it may not
  // write read-only without a word (the first write then fails): what it needs is checked first.
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw cannotOpen(path, `its directory cannot be made (${errnoText(err)})`);
  }
  assertWritable(path);
  let conn: SQLite.Database | undefined;
  try {
    conn = configureWriter(openSqliteFile(path), config);
    // A second, read-only connection for reads outside transactions (src/db/reads.ts). WAL shows
    // it the last commit and never what an open group commit has written so far.
    const reader = openSqliteFile(path, { readonly: true });
    reader.pragma("busy_timeout = 5000");
    return { conn, reader };
  } catch (err) {
    conn?.close();
    throw cannotOpen(path, (err as Error).message, err);
  }
}

function configureWriter(conn: SQLite.Database, config: DbConfig): SQLite.Database {
  // WAL lets readers run beside the writer; synchronous decides what a commit survives
  // (FULL: power loss and OS crash; NORMAL: a process crash). See README "Durability".
  conn.pragma("journal_mode = WAL");
  conn.pragma(`synchronous = ${config.sqliteSynchronous}`);
  conn.pragma("busy_timeout = 5000");
  conn.pragma("foreign_keys = ON");
  return conn;
}

/** The error names the path; SQLite's own error, and its code, stay on it. */
/** How long after the server starts listening the checkpoint worker starts (see runInBackground). */
const CHECKPOINT_WORKER_DELAY_MS = 500;

const cannotOpen = (path: string, why: string, cause?: unknown) =>
  Object.assign(new Error(`cannot open the SQLite database ${path}: ${why}`, { cause }), {
    code: (cause as { code?: string } | undefined)?.code,
  });
/** "EACCES: permission denied", without the path Node appends. */
const errnoText = (err: unknown) => (err as Error).message.split(",")[0] ?? String(err);

/**
 * The database file, and its -wal and -shm where they exist, must open for writing, and where any
 * of them does not exist yet its directory must take new files, since SQLite creates them there.
 */
function assertWritable(path: string): void {
  const missing: string[] = [];
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(file).isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw cannotOpen(path, `${file}: ${errnoText(err)}`);
      missing.push(basename(file));
      continue;
    }
    if (isDirectory) throw cannotOpen(path, `${file} is a directory, not a file`);
    // access(), not an open and a close: closing a descriptor would drop the locks this process's
    // connections may hold on the file (see shmDescriptor).
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw cannotOpen(path, `${file} cannot be written (${errnoText(err)})`);
    }
  }
  if (missing.length === 0) return;
  const dir = dirname(path);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw cannotOpen(
      path,
      `its directory ${dir} takes no new files (${errnoText(err)}), and SQLite must create ${missing.join(", ")} there`,
    );
  }
}

export function openSqlite(config: DbConfig): Db {
  const path = sqlitePath(config.databaseUrl);
  const { conn, reader } = openConnections(path, config);
  // Our own statements that may write bump `local`, and so does any commit seen in the WAL (our
  // writer's, the CLI's, a second process's). Together they change on every change.
  let local = 0;
  const watch = commitWatch(path, reader ?? conn);
  const dataVersion = () => {
    // Nothing is current once the database is closed, whatever the -shm file still says.
    if (!conn.open) throw new TypeError("The database connection is not open");
    if (watch.changed()) local++;
    return local;
  };
  const bump = () => {
    local++;
  };
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(conn, bump) }) });
  if (reader) registerDirect(kysely, directConnection(reader, false, bump));
  let checkpoints: Checkpoints | undefined;
  let startLater: NodeJS.Timeout | undefined;
  return {
    kysely,
    pages: kysely,
    dialect: "sqlite",
    writes: groupCommit(kysely, directConnection(conn, true, bump), () => checkpoints?.beforeWrite()),
    dataVersion,
    lastDataVersion: () => local,
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    runInBackground: () => {
      if (path === ":memory:" || startLater) return;
      // Not at once: a new thread's start competes with the first requests, which a test harness
      // sends the moment the server listens. Until the worker is running, SQLite checkpoints by
      // itself as usual, so nothing depends on when it starts.
      startLater = setTimeout(() => {
        checkpoints = checkpointInBackground(conn, path, config.sqliteSynchronous, { walFrames: watch.frames });
      }, CHECKPOINT_WORKER_DELAY_MS);
      startLater.unref();
    },
    close: async () => {
      clearTimeout(startLater);
      await checkpoints?.stop();
      // The writer closes last: the last connection to close checkpoints the WAL into the
      // database file and removes it, and the reader, being read-only, cannot.
      reader?.close();
      await kysely.destroy();
    },
  };
}

/**
 * Kysely prepares every query anew; compiling SQL in SQLite costs more than running these small
 * indexed queries. Statements are reused by their text (the set is bounded: queries are built
 * from a fixed set of shapes).
 *
 * Kysely prepares each statement just before running it, so `onWrite` runs as any statement that
 * may change what others read (writesData) is about to run.
 */
function cachingStatements(conn: SQLite.Database, onWrite: () => void): SqliteDatabase {
  const cache = new Map<string, { stmt: SQLite.Statement; writes: boolean }>();
  return {
    close: () => conn.close(),
    prepare: (sql: string) => {
      let entry = cache.get(sql);
      if (!entry) {
        if (cache.size >= 1000) cache.clear();
        const stmt = conn.prepare(sql);
        entry = { stmt, writes: writesData(sql, stmt) };
        cache.set(sql, entry);
      }
      if (entry.writes) onWrite();
      return entry.stmt as unknown as SqliteStatement;
    },
  };
}

/**
 * Whether any connection has committed since the last call. Every commit rewrites the WAL-index
 * header at the start of the -shm file (https://www.sqlite.org/walformat.html, section 2.1), so
 * one pread of its 48 bytes, compared with the last ones seen, tells. PRAGMA data_version tells
 * the same through a read transaction, whose locks cost three times as much on every request; it
 * stays the answer where there is no -shm file (an in-memory database).
 */
export function commitWatch(path: string, conn: SQLite.Database): CommitWatch {
  const version = conn.prepare("pragma data_version").pluck();
  let last = version.get(); // a first read transaction: it creates the -shm file
  const shm = path === ":memory:" ? undefined : shmDescriptor(path);
  if (shm === undefined) {
    return {
      changed: () => {
        const v = version.get();
        const changed = v !== last;
        last = v;
        return changed;
      },
    };
  }
  const header = Buffer.alloc(48);
  const seen = Buffer.alloc(48);
  const changed = () => {
    const n = readSync(shm, header, 0, 48, 0);
    const moved = n !== 48 || !header.equals(seen);
    header.copy(seen);
    return moved;
  };
  changed();
  // mxFrame, the last valid frame of the WAL: bytes 16-19 of the header, in the machine's order.
  const little = endianness() === "LE";
  const frames = () => {
    const n = readSync(shm, header, 0, 48, 0);
    if (n !== 48) return 0;
    return little ? header.readUInt32LE(16) : header.readUInt32BE(16);
  };
  return { changed, frames };
}

export interface CommitWatch {
  /** Whether any connection has committed since the last call. */
  changed(): boolean;
  /** Frames now in the WAL, where the -shm file can be read. */
  frames?(): number;
}

/**
 * One read-only descriptor per -shm file, kept open while that file lives. POSIX file locks belong
 * to the process: closing any descriptor of a file drops every lock the process holds on it,
 * SQLite's own locks on the -shm included, and another process could then take the file for
 * unused and reset it. Only a descriptor whose file has since been removed and made anew (the
 * last connection closed and a new one opened) is closed, since nothing can hold locks on it.
 * The path is resolved first: SQLite keeps the -shm beside the real file, not beside a symlink.
 */
const shmDescriptors = new Map<string, number>();
function shmDescriptor(path: string): number | undefined {
  try {
    const file = `${realpathSync(path)}-shm`;
    const current = statSync(file);
    const known = shmDescriptors.get(file);
    if (known !== undefined) {
      const held = fstatSync(known);
      if (held.ino === current.ino && held.dev === current.dev) return known;
      closeSync(known);
      shmDescriptors.delete(file);
    }
    const fd = openSync(file, "r");
    shmDescriptors.set(file, fd);
    return fd;
  } catch {
    return undefined;
  }
}

interface DirectStatement {
  stmt: SQLite.Statement;
  /** Returns rows (a SELECT, or a write with RETURNING). */
  reader: boolean;
  writes: boolean;
  row: (values: unknown[]) => unknown;
  width: number;
}

/** Statements run synchronously on `conn`; `onWrite` as in cachingStatements. */
function directConnection(conn: SQLite.Database, writes: boolean, onWrite: () => void): DirectConnection {
  const statements = new Map<string, DirectStatement>();
  const prepare = (sql: string): DirectStatement => {
    const stmt = conn.prepare(sql);
    if (!stmt.reader) return { stmt, reader: false, writes: true, row: () => undefined, width: 0 };
    const columns = stmt.columns().map((c) => c.name);
    stmt.raw(true);
    return { stmt, reader: true, writes: writesData(sql, stmt), row: rowBuilder(columns), width: columns.length };
  };
  return {
    writes,
    all(sql, parameters) {
      let entry = statements.get(sql);
      if (!entry) {
        if (statements.size >= 1000) statements.clear();
        entry = prepare(sql);
        statements.set(sql, entry);
      }
      if (entry.writes) onWrite();
      if (!entry.reader) {
        entry.stmt.run(parameters);
        return [];
      }
      const rows = entry.stmt.all(parameters) as unknown[][];
      // A migration run by another process can change what `select *` returns. (A rename that
      // keeps the count goes unseen here, but the application's code would not know it either.)
      if (rows.length > 0 && rows[0]!.length !== entry.width) {
        entry.stmt.raw(false);
        const columns = entry.stmt.columns().map((c) => c.name);
        entry.stmt.raw(true);
        entry.row = rowBuilder(columns);
        entry.width = columns.length;
      }
      return rows.map(entry.row);
    },
  };
}

/**
 * Whether running `sql` may change what others read: anything but a plain SELECT. Transaction
 * control (BEGIN, RELEASE, COMMIT) counts: SQLite calls it read-only, but it is what makes the
 * writes visible.
 */
function writesData(sql: string, stmt: SQLite.Statement): boolean {
  return !(stmt.readonly && /^\s*select\b/i.test(sql));
}

/**
 * better-sqlite3 builds each row object through V8's C++ API, a property at a time: half the time
 * of a 50-user page. Rows read as arrays and turned into objects by a function made for the
 * statement's columns cost half as much. The names come from SQLite's own description of our
 * statements, quoted as JSON string literals.
 */
function rowBuilder(columns: string[]): (values: unknown[]) => unknown {
  const fields = columns.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(", ");
  return new Function("v", `return { ${fields} };`) as (values: unknown[]) => unknown;
}
