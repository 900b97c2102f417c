// PostgreSQL text cannot hold the NUL character (U+0000); SQLite can. So that both databases
// answer alike, and with a 400 rather than a driver error, no request string may contain it.
import type { FastifyRequest } from "fastify";
import { valueNotPermitted } from "../errors.js";

/** The path of the first string holding a NUL, `job_history[0].title` style, or undefined. */
export function findNul(value: unknown, path = ""): string | undefined {
  if (typeof value === "string") return value.includes("\u0000") ? path || "body" : undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findNul(item, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const found = findNul(key, path ? `${path}.${key}` : key) ?? findNul(item, path ? `${path}.${key}` : key);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** preHandler hook: runs after schema validation, so type errors keep their own answers. */
export async function rejectNul(req: FastifyRequest): Promise<void> {
  const field = findNul(req.body) ?? findNul(req.query);
  if (field !== undefined) throw valueNotPermitted(field, "must not contain the NUL character (U+0000)");
}
