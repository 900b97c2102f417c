// Progress of a long command on stderr: a bar redrawn in place on a terminal, and plain lines
// (every 10%, or every 5 s when slower) when stderr is a file or a pipe, where `\r` frames would
// pile up into one unreadable line.

export interface ProgressOptions {
  /** Whether to draw a bar; stderr's own isTTY by default. */
  tty?: boolean;
  write?: (text: string) => void;
}

const FRAME_MS = 100;
const LINE_MS = 5000;
const WIDTH = 30;

export class Progress {
  private readonly started = performance.now();
  private readonly tty: boolean;
  private readonly write: (text: string) => void;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastLine = performance.now();
  private lastTenth = -1;
  private drawn = false;

  constructor(
    private readonly label: string,
    options: ProgressOptions = {},
  ) {
    this.tty = options.tty ?? process.stderr.isTTY === true;
    this.write = options.write ?? ((text) => process.stderr.write(text));
  }

  seconds(): string {
    return ((performance.now() - this.started) / 1000).toFixed(1);
  }

  /** `fraction` of the work is done; `detail` says what (`400000/1000000 users`). */
  update(fraction: number, detail: string, force = false): void {
    const f = Math.min(1, Math.max(0, fraction));
    const pct = Math.floor(f * 100);
    const now = performance.now();
    if (this.tty) {
      if (!force && now - this.lastDraw < FRAME_MS) return;
      this.lastDraw = now;
      const filled = Math.round(f * WIDTH);
      const bar = `${"#".repeat(filled)}${".".repeat(WIDTH - filled)}`;
      // Clears to the end of the line: a shorter frame must not leave the last one's tail.
      this.write(`\r${this.label} [${bar}] ${String(pct).padStart(3)}% ${detail}  ${this.seconds()} s\x1b[K`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor(f * 10);
    if (!force && tenth === this.lastTenth && now - this.lastLine < LINE_MS) return;
    if (force && tenth === this.lastTenth && pct !== 100) return;
    this.lastTenth = tenth;
    this.lastLine = now;
    this.write(`${this.label}: ${pct}% ${detail} ${this.seconds()} s\n`);
  }

  /** The last frame (100%), and the end of the bar's line. */
  finish(detail: string): void {
    if (!this.tty && this.lastTenth === 10) return;
    this.update(1, detail, true);
    if (this.tty && this.drawn) this.write("\n");
  }
}
