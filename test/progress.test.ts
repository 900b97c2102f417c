// The progress of long commands: a bar redrawn in place on a terminal, plain lines elsewhere.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Progress } from "../src/cli/progress.js";

describe("Progress", () => {
  it("draws `\\r` frames on a terminal and ends the line", () => {
    let out = "";
    const p = new Progress("load", {
      tty: true,
      write: (t) => {
        out += t;
      },
    });
    p.update(0, "0 users", true);
    p.update(0.5, "5 users", true);
    p.finish("10 users");
    assert.match(out, /^\rload \[\.+\] {3}0% 0 users/);
    assert.match(out, /\rload \[#{15}\.{15}\] {2}50% 5 users/);
    assert.match(out, /\rload \[#{30}\] 100% 10 users .*\n$/);
  });

  it("writes a plain line per tenth, and none between, when stderr is not a terminal", () => {
    let out = "";
    const p = new Progress("seed", {
      tty: false,
      write: (t) => {
        out += t;
      },
    });
    for (let i = 0; i <= 1000; i++) p.update(i / 1000, `${i}/1000 users`);
    p.finish("1000/1000 users");
    const lines = out.trimEnd().split("\n");
    assert.equal(lines.length, 11);
    assert.match(lines[0]!, /^seed: 0% 0\/1000 users/);
    assert.match(lines[10]!, /^seed: 100% 1000\/1000 users/);
    assert.doesNotMatch(out, /\r/);
  });
});
