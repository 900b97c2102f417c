// The CLI as a user meets it: help made from the command table, the version, usage errors.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { COMMANDS } from "../src/cli/commands.js";
import { migrationNames } from "../src/db/migrate.js";
import { runCli } from "./helpers/processes.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

describe("CLI", () => {
  it("prints its version", async () => {
    for (const flag of ["--version", "-v"]) {
      const res = await runCli([flag], {});
      assert.equal(res.code, 0);
      assert.equal(res.stdout, `${pkg.version}\n`);
    }
  });

  it("lists every command in --help, and every option in each command's --help", async () => {
    const help = await runCli(["--help"], {});
    assert.equal(help.code, 0);
    for (const c of COMMANDS) {
      assert.ok(help.stdout.includes(`  ${c.words.join(" ")} `), `${c.words.join(" ")} in --help`);
      const own = await runCli([...c.words, "--help"], {});
      assert.equal(own.code, 0, own.stderr);
      assert.match(own.stdout, new RegExp(`^Usage: devusers ${c.words.join(" ")}`));
      for (const option of Object.keys(c.options)) assert.ok(own.stdout.includes(`--${option}`), `--${option}`);
      for (const p of c.positionals ?? []) assert.ok(own.stdout.includes(`<${p.name}>`), `<${p.name}>`);
    }
    const group = await runCli(["keys", "--help"], {});
    assert.equal(group.code, 0);
    for (const sub of ["list", "rotate", "retire"]) assert.ok(group.stdout.includes(`devusers keys ${sub}`));
  });

  it("migrate names the migrations it applied, then says the schema is up to date", async () => {
    const dir = mkdtempSync(join(tmpdir(), "devusers-cli-"));
    try {
      const env = { DATABASE_URL: join(dir, "db.sqlite") };
      const first = await runCli(["migrate"], env);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout, `applied: ${migrationNames.join(", ")}\n`);
      const again = await runCli(["migrate"], env);
      assert.equal(again.stdout, "schema is up to date\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers a usage error with exit code 2 and one line naming the problem", async () => {
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /unknown command "frobnicate"/],
      [["keys"], /"keys" needs a subcommand/],
      [["keys", "retire"], /missing <kid>/],
      [["token", "create"], /--email is required/],
      [["token", "create", "--email", "a@example.com", "--bogus"], /Unknown option '--bogus'/],
      [["migrate", "extra"], /unexpected argument "extra"/],
    ];
    for (const [argv, message] of cases) {
      const res = await runCli(argv, {});
      assert.equal(res.code, 2, `${argv.join(" ")}: ${res.stderr}`);
      assert.match(res.stderr, message);
    }
  });
});
