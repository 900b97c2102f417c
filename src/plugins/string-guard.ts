// Only strings both databases store exactly as sent. PostgreSQL text cannot hold NUL (U+0000),
// which SQLite can; a lone UTF-16 surrogate (JSON's "\ud800") is stored by SQLite as invalid
// UTF-8 and by PostgreSQL as U+FFFD, merging distinct values. So no request string, key or
// query parameter may hold either, and the answer is a 400 naming the field, not a driver error.
import type { FastifyRequest } from "fastify";
import { valueNotPermitted } from "../errors.js";

declare global {
  interface String {
    /** ES2024; Node 20 has it. */
    isWellFormed(): boolean;
  }
}

type Flaw = "nul" | "surrogate";

const flawOf = (s: string): Flaw | undefined =>
  s.includes("\u0000") ? "nul" : s.isWellFormed() ? undefined : "surrogate";

/** A key as it can be named in an error: lone surrogates written as their escapes. */
const printable = (key: string) =>
  key.isWellFormed() ? key : key.replace(/\p{Cs}/gu, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/** The first string (or key) with a flaw, as `job_history[0].title`, or undefined. */
export function findFlawedString(value: unknown, path = ""): { path: string; flaw: Flaw } | undefined {
  if (typeof value === "string") {
    const flaw = flawOf(value);
    return flaw ? { path: path || "body", flaw } : undefined;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findFlawedString(item, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const at = path ? `${path}.${printable(key)}` : printable(key);
      const found = findFlawedString(key, at) ?? findFlawedString(item, at);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The query parser keeps a parameter whose percent-encoding is not UTF-8 (`%FF`) as its raw text,
 * so `%FF` and `%25FF` would read alike: refuse it instead.
 */
function findUndecodableParameter(url: string): string | undefined {
  const start = url.indexOf("?");
  if (start < 0 || !url.includes("%", start)) return undefined;
  for (const pair of url.slice(start + 1).split("&")) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, " "));
    let name: string;
    try {
      name = decode(key);
    } catch {
      return key;
    }
    try {
      if (eq >= 0) decode(pair.slice(eq + 1));
    } catch {
      return name;
    }
  }
  return undefined;
}

const REASONS: Record<Flaw, string> = {
  nul: "must not contain the NUL character (U+0000)",
  surrogate: "must be well-formed Unicode (a lone UTF-16 surrogate such as \\ud800 is not)",
};

/** preHandler hook: runs after schema validation, so type errors keep their own answers. */
export async function rejectFlawedStrings(req: FastifyRequest): Promise<void> {
  const param = findUndecodableParameter(req.url);
  if (param !== undefined) throw valueNotPermitted(printable(param), "must be percent-encoded UTF-8");
  const found = findFlawedString(req.body) ?? findFlawedString(req.query);
  if (found) throw valueNotPermitted(found.path, REASONS[found.flaw]);
}
