// SQLite copies the WAL into the database file (a checkpoint, with an fsync) inside whichever
// commit crosses 1000 pages of WAL, on our one event loop: at a million users, where those pages
// are scattered, it took link's p99 from 11 ms to 25 ms. A worker thread checkpoints instead.
//
// A passive checkpoint never blocks anyone, but under a steady stream of commits it never catches
// up with the end of the WAL either, and SQLite starts the WAL over only once it has. So when the
// WAL passes a size, the next group commit waits (asynchronously: reads go on) for one checkpoint
// with no commit behind it; the commit after that starts the WAL over. The writer's automatic
// checkpoints are off only while the worker runs, and back on should it stop.
import { Worker } from "node:worker_threads";
import type SQLite from "better-sqlite3";
import type { CheckpointReport, CheckpointWorkerData } from "./checkpoint-worker.js";

const AUTOCHECKPOINT_PAGES = 1000; // SQLite's default
const CATCH_UP_WAIT_MS = 1000;
// 16,000 frames of 4 KiB: the WAL stays under about 64 MB.

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
  { intervalMs = 10, catchUpFrames = 16_000, walFrames }: CheckpointOptions = {},
): Checkpoints {
  const workerData: CheckpointWorkerData = { path, synchronous, intervalMs };
  const worker = new Worker(new URL("./checkpoint-worker.js", import.meta.url), { workerData });
  worker.unref();
  let running = false;
  let exited = false;
  let frames = 0;
  let caughtUp: (() => void) | undefined;
  const autocheckpoint = (pages: number) => {
    if (writer.open) writer.pragma(`wal_autocheckpoint = ${pages}`);
  };
  worker.on("message", (message: "ready" | CheckpointReport) => {
    if (message === "ready") {
      running = true;
      autocheckpoint(0);
      return;
    }
    frames = message.frames;
    if (message.requested) caughtUp?.();
  });
  const fallBack = () => {
    exited = true;
    if (running) autocheckpoint(AUTOCHECKPOINT_PAGES);
    running = false;
    caughtUp?.();
  };
  worker.on("error", fallBack);
  worker.on("exit", fallBack);

  return {
    beforeWrite: () => {
      if (!running || (walFrames ? walFrames() : frames) < catchUpFrames) return undefined;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, CATCH_UP_WAIT_MS);
        function done() {
          clearTimeout(timer);
          caughtUp = undefined;
          frames = 0;
          resolve();
        }
        caughtUp = done;
        worker.postMessage("catch-up");
      });
    },
    stop: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      worker.postMessage("stop");
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await gone;
      clearTimeout(timer);
    },
  };
}
