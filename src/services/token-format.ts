// What a token must look like before its signature is even checked. A JWS has many spellings that
// decode to the same bytes (padding, whitespace, the unused low bits of the last character, `+/`
// for `-_`), and JSON lets a key repeat with the last one winning. Only the one spelling we mint
// is accepted, so a token is one string: limits, caches and logs cannot be dodged by re-spelling.

const SEGMENT_RE = /^[A-Za-z0-9_-]+$/;

/** The header and payload as JSON text, or undefined when any segment is not canonical base64url. */
export function canonicalSegments(token: string): { header: string; payload: string } | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  for (const part of parts) {
    if (!SEGMENT_RE.test(part)) return undefined;
    // Decoding drops bits that do not fill a byte; encoding again restores the canonical form.
    if (Buffer.from(part, "base64url").toString("base64url") !== part) return undefined;
  }
  return {
    header: Buffer.from(parts[0]!, "base64url").toString("utf8"),
    payload: Buffer.from(parts[1]!, "base64url").toString("utf8"),
  };
}

/**
 * Whether any object in this JSON text names a key twice (compared after unescaping, so `"sub"`
 * and `"s\u0075b"` are one key). It only scans: the text must also pass JSON.parse. A token's
 * parts are a few hundred bytes, and a general JSON parser that reports duplicates would be a
 * dependency for these dozen lines.
 */
export function hasDuplicateKeys(json: string): boolean {
  // One entry per open container: the keys seen in an object, or null for an array.
  const open: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (end < json.length && json[end] !== '"') end += json[end] === "\\" ? 2 : 1;
      if (expectKey) {
        const keys = open[open.length - 1];
        let key: string;
        try {
          key = JSON.parse(json.slice(i, end + 1)) as string;
        } catch {
          return true; // not JSON at all: refused either way
        }
        if (keys?.has(key)) return true;
        keys?.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === "{") {
      open.push(new Set());
      expectKey = true;
    } else if (c === "[") {
      open.push(null);
    } else if (c === "}" || c === "]") {
      open.pop();
    } else if (c === ",") {
      expectKey = open[open.length - 1] instanceof Set;
    }
  }
  return false;
}
