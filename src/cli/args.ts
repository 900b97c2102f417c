import { parseArgs } from "node:util";
import { ORG_SLUG_RE } from "../ids.js";
import { MAX_TOKEN_TTL_SECONDS } from "../services/auth.js";
import { isEmail } from "../validation.js";

export class UsageError extends Error {}

export const DEFAULT_ORG = "default";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `15m`, `12h`, `30d` → seconds. */
export function parseDuration(raw: string): number {
  const m = /^([1-9][0-9]{0,8})([smhd])$/.exec(raw.trim());
  if (!m) throw new UsageError(`--ttl must look like 90s, 15m, 12h or 30d, got "${raw}"`);
  const seconds = Number(m[1]) * UNITS[m[2]!]!;
  if (seconds > MAX_TOKEN_TTL_SECONDS) throw new UsageError(`--ttl may be at most 3650d (ten years), got "${raw}"`);
  return seconds;
}

export function parseOrg(raw: string | undefined): string {
  const org = raw ?? DEFAULT_ORG;
  if (!ORG_SLUG_RE.test(org)) throw new UsageError(`--org must be 1-64 letters, digits, - or _, got "${org}"`);
  return org;
}

export function parseEmail(raw: string | undefined): string {
  if (!raw) throw new UsageError("--email is required");
  const email = raw.trim();
  if (!isEmail(email)) throw new UsageError(`--email must be an email address, got "${raw}"`);
  return email;
}

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** How the value is shown in help: `<e>`. */
  value?: string;
  description: string;
  required?: boolean;
}

/** Reads options strictly: an unknown option, a missing value or a stray argument is a usage error. */
export function parseCommandLine(
  argv: string[],
  spec: Record<string, OptionSpec>,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const config = Object.fromEntries(
    Object.entries(spec).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
  );
  try {
    const { values, positionals } = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}
