// SQLite copies the WAL into the database file (a checkpoint, with an fsync) inside whichever
// commit crosses 1000 pages of WAL, on our one event loop: at a million users, where those pages
// are scattered, it took link's p99 from 11 ms to 25 ms. A worker thread checkpoints instead.
//
// A passive checkpoint never blocks anyone, but under a steady stream of commits it never catches
// up with the end of the WAL either, and SQLite starts the WAL over only once it has. So when the
// WAL passes a length, the next group commit waits (asynchronously: reads go on) for one checkpoint
// with no commit behind it; the commit after that starts the WAL over. Should that fail again and
// again (another process pinning the WAL, a disk too slow), or the worker stop, the writer's own
// automatic checkpoints take over, as without the worker.
import { Worker } from "node:worker_threads";
import type SQLite from "better-sqlite3";
import type { CheckpointReport, CheckpointWorkerData } from "./checkpoint-worker.js";

const AUTOCHECKPOINT_PAGES = 1000; // SQLite's default
const CATCH_UP_WAIT_MS = 1000;
const MISSES_BEFORE_FALLING_BACK = 3;
const FALLEN_BACK_MS = 10_000;

export interface CheckpointOptions {
  /** How often the worker checkpoints. Measured at a million users: 10 ms kept link's p99 flat. */
  intervalMs?: number;
  /** The WAL length, in frames (pages), past which writes wait for the worker to catch up. */
  catchUpFrames?: number;
  /** Frames in the WAL now; without it, the length the worker last reported. */
  walFrames?: () => number;
}

export interface Checkpoints {
  /** A promise to wait on before the next write transaction, when the WAL has grown too long. */
  beforeWrite(): Promise<void> | undefined;
  stop(): Promise<void>;
}

export function checkpointInBackground(
  writer: SQLite.Database,
  path: string,
  synchronous: string,
  // 16,000 frames of a 4 KiB page: about 64 MB of WAL.
  { intervalMs = 10, catchUpFrames = 16_000, walFrames }: CheckpointOptions = {},
): Checkpoints {
  const workerData: CheckpointWorkerData = { path, synchronous, intervalMs, report: walFrames === undefined };
  const worker = new Worker(new URL("./checkpoint-worker.js", import.meta.url), { workerData });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  let running = false;
  let gone = false;
  let reported = 0;
  let misses = 0;
  /** Until when SQLite's own checkpoints are back on, after catch-ups kept failing. */
  let fallenBackUntil = 0;
  let requests = 0;
  const pending = new Map<number, (caughtUp: boolean) => void>();
  const autocheckpoint = (pages: number) => {
    if (writer.open) writer.pragma(`wal_autocheckpoint = ${pages}`);
  };
  worker.on("message", (message: "ready" | CheckpointReport) => {
    if (message === "ready") {
      if (gone) return;
      running = true;
      autocheckpoint(0);
      return;
    }
    reported = message.frames;
    if (message.request !== undefined) pending.get(message.request)?.(message.caughtUp);
  });
  const fallBack = () => {
    gone = true;
    if (running) autocheckpoint(AUTOCHECKPOINT_PAGES);
    running = false;
    for (const settle of pending.values()) settle(false);
  };
  worker.on("error", fallBack);
  worker.on("exit", fallBack);

  const catchUp = () =>
    new Promise<void>((resolve) => {
      const id = ++requests;
      const settle = (caughtUp: boolean) => {
        clearTimeout(timer);
        pending.delete(id);
        reported = 0;
        misses = caughtUp ? 0 : misses + 1;
        if (misses >= MISSES_BEFORE_FALLING_BACK && running) {
          misses = 0;
          fallenBackUntil = Date.now() + FALLEN_BACK_MS;
          autocheckpoint(AUTOCHECKPOINT_PAGES);
        }
        resolve();
      };
      const timer = setTimeout(() => settle(false), CATCH_UP_WAIT_MS);
      pending.set(id, settle);
      worker.postMessage({ catchUp: id });
    });

  return {
    beforeWrite: () => {
      if (!running) return undefined;
      if (fallenBackUntil !== 0) {
        if (Date.now() < fallenBackUntil) return undefined;
        fallenBackUntil = 0;
        autocheckpoint(0);
      }
      return (walFrames ? walFrames() : reported) >= catchUpFrames ? catchUp() : undefined;
    },
    stop: async () => {
      if (!gone) worker.postMessage("stop");
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
