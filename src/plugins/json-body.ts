// Reads a JSON request body. Beyond JSON.parse it refuses, as 400s, what would otherwise harm the
// process later: prototype keys (`__proto__`, `constructor.prototype`), which Fastify's own parser
// refuses too, and nesting deep enough to overflow the stack of whatever walks the body next.
import secureJson from "secure-json-parse";
import { ApiError } from "../errors.js";

/** Deepest nesting of objects and arrays a body may have; the body itself is level 1. */
export const MAX_JSON_DEPTH = 64;

const FORBIDDEN = { protoAction: "error", constructorAction: "error" } as const;

/** Whether objects and arrays nest deeper than `max` levels. Iterative: no input can overflow the stack. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== "object") return false;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === "object") {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/** Invalid UTF-8 is refused rather than silently replaced by U+FFFD, which would merge values. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The body's text, or a 400 when its bytes are not UTF-8. */
export function decodeBody(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ApiError("bad_request", "the request body is not valid UTF-8");
  }
}

/** The parsed body, or an ApiError: `parse_error` for text that is not JSON, `bad_request` for the rest. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = secureJson.parse(text, null, FORBIDDEN);
  } catch (err) {
    if (err instanceof SyntaxError && err.message.includes("forbidden prototype property")) {
      throw new ApiError(
        "bad_request",
        "the request body must not contain a __proto__ key or a constructor key holding a prototype (constructor.prototype)",
      );
    }
    // A SyntaxError, or a RangeError from a parser that runs out of stack: either way, not JSON we can read.
    throw new ApiError("parse_error", "the request body is not valid JSON");
  }
  if (nestedDeeperThan(value, MAX_JSON_DEPTH)) {
    throw new ApiError("bad_request", `the request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return value;
}
