// How a write transaction reaches the disk. Services hand over a unit of work and get its
// result once its commit is durable; they never know whether it shared that commit.
import { CompiledQuery, type Kysely } from "kysely";
import { beginUnit, endUnits, takeCleared } from "./deferred-appends.js";
import { type DirectConnection, registerDirect, unregisterDirect } from "./reads.js";
import { writeJournalEntries } from "./repositories/journal.js";
import type { Database, NewJournalEntry } from "./types.js";

export type Work<T> = (trx: Kysely<Database>) => Promise<T>;

export interface Writes {
  run<T>(work: Work<T>): Promise<T>;
}

/** One transaction per unit of work: PostgreSQL, whose own WAL flushes group concurrent commits. */
export function transactionPerWrite(db: Kysely<Database>): Writes {
  return { run: (work) => db.transaction().execute((trx) => work(trx)) };
}

// Compiled once: these run for every unit of work.
const BEGIN = CompiledQuery.raw("begin immediate");
const SAVEPOINT = CompiledQuery.raw("savepoint unit");
const RELEASE = CompiledQuery.raw("release unit");
const ROLLBACK_TO = CompiledQuery.raw("rollback to unit");
const COMMIT = CompiledQuery.raw("commit");
const ROLLBACK = CompiledQuery.raw("rollback");

interface Job {
  work: Work<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * Group commit for SQLite, where every write already takes turns on one connection: the units
 * of work that arrive while a commit is syncing run together in the next transaction, each in
 * its own savepoint (so one failing unit rolls back alone), and all of them are answered once
 * that single commit (one fsync) is durable. A failed commit fails every unit in it. With
 * `direct`, the batch's statements skip Kysely's connection machinery (src/db/reads.ts); a unit
 * must then await each of its statements in turn, as every unit here does, since the batch's own
 * SAVEPOINT and RELEASE no longer queue behind Kysely's.
 */
export function groupCommit(
  db: Kysely<Database>,
  direct?: DirectConnection,
  /** What to wait for, if anything, before the next transaction begins (src/db/checkpoints.ts). */
  beforeBatch?: () => Promise<void> | undefined,
  maxBatch = 256,
): Writes {
  let queue: Job[] = [];
  let flushing = false;

  async function runBatch(batch: Job[]): Promise<void> {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      await db.connection().execute(async (conn) => {
        // The batch holds the one connection: its statements may run on it directly.
        if (direct) registerDirect(conn, direct);
        const exec = async (q: CompiledQuery) => {
          if (direct) direct.all(q.sql, q.parameters);
          else await conn.executeQuery(q);
        };
        try {
          // IMMEDIATE takes the write lock up front: a deferred BEGIN that reads first and then
          // writes is refused at once (SQLITE_BUSY) when another process, such as the CLI, holds it.
          await exec(BEGIN);
          try {
            const appends: NewJournalEntry[] = [];
            for (const job of batch) {
              await exec(SAVEPOINT);
              try {
                const pending = beginUnit(conn);
                const value = await job.work(conn);
                await exec(RELEASE);
                if (takeCleared(conn)) appends.length = 0;
                appends.push(...pending);
                outcomes.push({ ok: true, value });
              } catch (err) {
                takeCleared(conn);
                // If the failure already ended the transaction (disk full, I/O error), there is no
                // savepoint to go back to: fail the whole batch with the unit's own error.
                await exec(ROLLBACK_TO).catch(() => {
                  throw err;
                });
                await exec(RELEASE);
                outcomes.push({ ok: false, value: err });
              }
            }
            endUnits(conn);
            // The entries of the units that held, in their order: seq order is commit order.
            if (appends.length > 0) await writeJournalEntries(conn, appends);
            await exec(COMMIT);
          } catch (err) {
            await exec(ROLLBACK).catch(() => {});
            throw err;
          }
        } finally {
          endUnits(conn);
          unregisterDirect(conn);
        }
      });
    } catch (err) {
      for (const job of batch) job.reject(err);
      return;
    }
    batch.forEach((job, i) => {
      const o = outcomes[i]!;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.value);
    });
  }

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (queue.length > 0) {
        try {
          await beforeBatch?.();
        } catch {
          // Only a wait for the checkpointer: the batch goes ahead without it.
        }
        const batch = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue;
        if (batch === queue) queue = [];
        await runBatch(batch);
      }
    } finally {
      flushing = false;
    }
  }

  return {
    run<T>(work: Work<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
        // Let the requests already read from the sockets join this batch before it starts.
        if (!flushing) {
          flushing = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}
