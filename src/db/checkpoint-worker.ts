// Runs in a worker thread started by src/db/checkpoints.ts. It checkpoints the WAL on a connection
// of its own, so copying pages into the database file and fsyncing it never stall the event loop
// that serves requests.
import { parentPort, workerData } from "node:worker_threads";
import SQLite from "better-sqlite3";

export interface CheckpointWorkerData {
  path: string;
  synchronous: string;
  intervalMs: number;
}

/** From the worker: frames in the WAL, and whether all of them are in the database file. */
export interface CheckpointReport {
  frames: number;
  caughtUp: boolean;
  /** Set on the answer to a "catch-up" request. */
  requested?: boolean;
}

const { path, synchronous, intervalMs } = workerData as CheckpointWorkerData;
const port = parentPort;
if (!port) throw new Error("checkpoint-worker runs only as a worker thread");

const conn = new SQLite(path);
// A checkpoint syncs the database file only under NORMAL or FULL: with OFF, a power loss after
// the WAL starts over could lose what was copied.
conn.pragma(`synchronous = ${synchronous}`);
// A passive checkpoint never waits for a lock; this only covers opening the database.
conn.pragma("busy_timeout = 1000");
const passive = conn.prepare("pragma wal_checkpoint(PASSIVE)");

function checkpoint(requested: boolean): void {
  try {
    const r = passive.get() as { busy: number; log: number; checkpointed: number };
    const report: CheckpointReport = { frames: r.log, caughtUp: r.busy === 0 && r.log === r.checkpointed };
    if (requested) report.requested = true;
    port?.postMessage(report);
  } catch {
    port?.postMessage({ frames: 0, caughtUp: false, requested } satisfies CheckpointReport);
  }
}

const timer = setInterval(() => checkpoint(false), intervalMs);
port.on("message", (message) => {
  if (message === "catch-up") checkpoint(true);
  if (message === "stop") {
    clearInterval(timer);
    conn.close();
    port.close();
  }
});
port.postMessage("ready");
