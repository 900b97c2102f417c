// Runs in a worker thread started by src/db/checkpoints.ts. It checkpoints the WAL on a connection
// of its own, so copying pages into the database file and fsyncing it never stall the event loop
// that serves requests.
import { parentPort, workerData } from "node:worker_threads";
import { openSqliteFile } from "./sqlite-driver.js";

export interface CheckpointWorkerData {
  path: string;
  synchronous: string;
  intervalMs: number;
  /** Report the WAL's length after every checkpoint (when the main thread cannot read it). */
  report: boolean;
}

/** From the worker: frames in the WAL, and whether all of them are in the database file. */
export interface CheckpointReport {
  frames: number;
  caughtUp: boolean;
  /** The id of the "catch-up" request this answers. */
  request?: number;
}

const FAILURES_BEFORE_GIVING_UP = 5;

const { path, synchronous, intervalMs, report } = workerData as CheckpointWorkerData;
const port = parentPort;
if (!port) throw new Error("checkpoint-worker runs only as a worker thread");

const conn = openSqliteFile(path);
// A checkpoint syncs the database file only under NORMAL or FULL: with OFF, a power loss after
// the WAL starts over could lose what was copied.
conn.pragma(`synchronous = ${synchronous}`);
// A passive checkpoint never waits for a lock; this only covers opening the database.
conn.pragma("busy_timeout = 1000");
const passive = conn.prepare("pragma wal_checkpoint(PASSIVE)");
let failures = 0;

function checkpoint(request?: number): void {
  let result: CheckpointReport;
  try {
    const r = passive.get() as { busy: number; log: number; checkpointed: number };
    result = { frames: r.log, caughtUp: r.busy === 0 && r.log === r.checkpointed };
    failures = 0;
  } catch {
    result = { frames: 0, caughtUp: false };
    // A worker that cannot checkpoint any more exits, and the writer's own checkpoints resume.
    if (++failures >= FAILURES_BEFORE_GIVING_UP) stop();
  }
  if (request !== undefined) port?.postMessage({ ...result, request });
  else if (report) port?.postMessage(result);
}

const timer = setInterval(() => checkpoint(), intervalMs);
function stop(): void {
  clearInterval(timer);
  if (conn.open) conn.close();
  port?.close();
}
port.on("message", (message: { catchUp?: number } | "stop") => {
  if (message === "stop") stop();
  else if (message.catchUp !== undefined) checkpoint(message.catchUp);
});
port.postMessage("ready");
