// devusers <command>: finds the command in the table (src/cli/commands.ts), reads its options,
// and prints help made from the same table.
import { AdminError } from "../services/admin.js";
import { FixtureError } from "../services/import-types.js";
import { version } from "../version.js";
import { parseCommandLine, UsageError } from "./args.js";
import { COMMANDS, type Command } from "./commands.js";

const name = (c: Command) => c.words.join(" ");

function usageLine(c: Command): string {
  const parts = [`devusers ${name(c)}`];
  for (const [option, o] of Object.entries(c.options)) {
    const text = o.type === "boolean" ? `--${option}` : `--${option} ${o.value ?? "<value>"}`;
    parts.push(o.required ? text : `[${text}]`);
  }
  for (const p of c.positionals ?? []) parts.push(`<${p.name}>`);
  return parts.join(" ");
}

function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => name(c).length));
  const lines = COMMANDS.map((c) => `  ${name(c).padEnd(width)}  ${c.summary}`);
  return `devusers ${version}: DevRev's Dev users API, self-hosted

Usage: devusers <command> [options]

Commands:
${lines.join("\n")}

  devusers <command> --help   the options of one command
  devusers --version          the version

Every command reads DATABASE_URL (default ./data/devusers.sqlite) and migrates the schema as
needed; see the README for all settings.
`;
}

function commandHelp(c: Command): string {
  const rows: [string, string][] = Object.entries(c.options).map(([option, o]) => [
    o.type === "boolean" ? `--${option}` : `--${option} ${o.value ?? "<value>"}`,
    `${o.description}${o.required ? " (required)" : ""}`,
  ]);
  for (const p of c.positionals ?? []) rows.push([`<${p.name}>`, p.description]);
  rows.push(["--help", "show this help"]);
  const width = Math.max(...rows.map(([left]) => left.length));
  const body = rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join("\n");
  return `Usage: ${usageLine(c)}

${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.

Options:
${body}
${c.notes ? `\n${c.notes}\n` : ""}`;
}

/** The commands a first word starts: one, or a group such as `keys`. */
const startingWith = (word: string | undefined) => COMMANDS.filter((c) => c.words[0] === word);

function groupHelp(word: string): string {
  const group = startingWith(word);
  return `Usage:\n${group.map((c) => `  ${usageLine(c)}\n      ${c.summary}`).join("\n")}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [first, second] = argv;
  try {
    if (first === "--version" || first === "-v" || first === "version") {
      process.stdout.write(`${version}\n`);
      return 0;
    }
    if (first === undefined) {
      process.stderr.write(generalHelp());
      return 2;
    }
    if (first === "--help" || first === "-h" || first === "help") {
      const rest = argv.slice(1);
      const c = COMMANDS.find((c) => c.words.join(" ") === rest.join(" "));
      if (c) process.stdout.write(commandHelp(c));
      else if (rest.length === 1 && startingWith(rest[0]).length > 0) process.stdout.write(groupHelp(rest[0]!));
      else process.stdout.write(generalHelp());
      return 0;
    }
    const group = startingWith(first);
    if (group.length === 0) throw new UsageError(`unknown command "${first}"; run devusers --help`);
    const command = group.find((c) => c.words.length === 1 || c.words[1] === second);
    if (!command) {
      const wantsHelp = second === "--help" || second === "-h";
      (wantsHelp ? process.stdout : process.stderr).write(groupHelp(first));
      if (wantsHelp) return 0;
      throw new UsageError(
        second === undefined ? `"${first}" needs a subcommand` : `unknown command "${first} ${second}"`,
      );
    }
    const args = argv.slice(command.words.length);
    if (args.includes("--help") || args.includes("-h")) {
      process.stdout.write(commandHelp(command));
      return 0;
    }
    const { values, positionals } = parseCommandLine(args, command.options);
    for (const [option, o] of Object.entries(command.options)) {
      if (o.required && values[option] === undefined)
        throw new UsageError(`--${option} is required: ${usageLine(command)}`);
    }
    const expected = command.positionals?.length ?? 0;
    if (positionals.length !== expected) {
      throw new UsageError(
        positionals.length > expected
          ? `unexpected argument "${positionals[expected]}": ${usageLine(command)}`
          : `missing <${command.positionals![positionals.length]!.name}>: ${usageLine(command)}`,
      );
    }
    return await command.run(values, positionals);
  } catch (err) {
    if (err instanceof UsageError || err instanceof AdminError) {
      process.stderr.write(`devusers: ${err.message}\n`);
      return 2;
    }
    if (err instanceof FixtureError) {
      // A bad file, not a bad command line: nothing was written.
      process.stderr.write(`${process.stderr.isTTY ? "\n" : ""}devusers: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
