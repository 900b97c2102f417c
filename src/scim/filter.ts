// SCIM filters (RFC 7644, section 3.4.2.2), read by scim2-parse-filter and compiled into the
// directory's lookup conditions. What Okta and Entra send is served: `eq` on userName (without
// regard to case), externalId, id, emails.value (also as emails[type eq "work"].value or
// emails[value eq "..."]) and active, joined by `and`. Anything else is a 400 invalidFilter that
// names the part not served; nothing is ignored.
import scimFilter from "scim2-parse-filter";
import { ApiError } from "../errors.js";
import { parseDevUserId } from "../ids.js";
import type { UserCondition } from "../services/provisioning.js";
import { afterUrn, CORE_USER } from "./schema.js";

/** The longest filter read: the parser's cost grows with the square of the length. */
export const MAX_FILTER_LENGTH = 2048;

type Node =
  | { op: "and" | "or"; filters: Node[] }
  | { op: "not"; filter: Node }
  | { op: "[]"; attrPath: string; valFilter: Node }
  | { op: string; attrPath: string; compValue?: unknown };

const invalidFilter = (detail: string) => new ApiError("invalid_filter", detail);

const FILTERABLE = 'userName, externalId, id, emails.value (or emails[type eq "work"].value) and active';

/** Reads a filter into a tree, or refuses it before the parser sees it. */
export function parseFilter(text: string): Node {
  if (text.length > MAX_FILTER_LENGTH) throw invalidFilter(`the filter is longer than ${MAX_FILTER_LENGTH} characters`);
  // Control characters never belong in a filter, and newlines inside a quoted string make the
  // parser's tokenizer backtrack exponentially.
  if (/[^\x20-\x7e\u0080-\uffff]/.test(text)) throw invalidFilter("the filter holds a control character");
  try {
    return scimFilter.parse(text) as Node;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw invalidFilter(`the filter cannot be read (${reason.slice(0, 200)})`);
  }
}

/** An attribute path without the core schema's URN, lowercased for comparing. */
const attributeOf = (path: string) => (afterUrn(path, CORE_USER) ?? path).toLowerCase();

function stringValue(node: { attrPath: string; compValue?: unknown }): string {
  if (typeof node.compValue !== "string") throw invalidFilter(`${node.attrPath} is compared with a string`);
  return node.compValue;
}

/** `emails[...]`: a value filter on the one email the directory holds, which is its work email. */
function emailValueFilter(node: Node, out: UserCondition[]): void {
  if (node.op === "and") {
    for (const f of (node as { filters: Node[] }).filters) emailValueFilter(f, out);
    return;
  }
  const n = node as { op: string; attrPath?: string; compValue?: unknown };
  const attribute = n.attrPath?.toLowerCase();
  if (n.op !== "eq") throw invalidFilter(`"${n.op}" inside emails[...] is not supported: only eq, joined by and`);
  if (attribute === "value") {
    out.push({ kind: "email", lower: stringValue(n as { attrPath: string; compValue?: unknown }).toLowerCase() });
    return;
  }
  if (attribute === "type") {
    const type = stringValue(n as { attrPath: string; compValue?: unknown });
    if (type.toLowerCase() !== "work")
      throw invalidFilter(`emails of type "${type}" cannot be filtered: only the work email (the directory's)`);
    return;
  }
  throw invalidFilter(`emails[${n.attrPath} ...] is not supported: filter on emails' value or type`);
}

function compile(node: Node, org: string, out: UserCondition[]): void {
  switch (node.op) {
    case "and":
      for (const f of (node as { filters: Node[] }).filters) compile(f, org, out);
      return;
    case "or":
    case "not":
      throw invalidFilter(`"${node.op}" is not supported: filters are attribute eq value, joined by and`);
    case "[]": {
      const n = node as { attrPath: string; valFilter: Node };
      if (attributeOf(n.attrPath) !== "emails")
        throw invalidFilter(`${n.attrPath}[...] is not supported: of value filters only emails[...] is`);
      emailValueFilter(n.valFilter, out);
      return;
    }
  }
  const n = node as { op: string; attrPath: string; compValue?: unknown };
  if (n.op !== "eq")
    throw invalidFilter(`the operator "${n.op}" (on ${n.attrPath}) is not supported: only eq, joined by and`);
  switch (attributeOf(n.attrPath)) {
    case "username":
    case "emails.value":
      out.push({ kind: "email", lower: stringValue(n).toLowerCase() });
      return;
    case "emails.type":
      emailValueFilter({ op: "eq", attrPath: "type", compValue: n.compValue }, out);
      return;
    case "externalid":
      // The issuer is the connection's: the service fills it in.
      out.push({ kind: "external_id", issuer: "", id: stringValue(n) });
      return;
    case "id": {
      let number: number | undefined;
      try {
        number = parseDevUserId(stringValue(n), "id", org);
      } catch {
        number = undefined;
      }
      // An id that names no user here matches nothing: it is not a malformed filter.
      out.push(number === undefined ? { kind: "none" } : { kind: "number", number });
      return;
    }
    case "active": {
      const v = n.compValue;
      if (typeof v === "boolean") out.push({ kind: "active", active: v });
      else if (typeof v === "string" && /^(true|false)$/i.test(v))
        out.push({ kind: "active", active: /^true$/i.test(v) });
      else throw invalidFilter("active is compared with true or false");
      return;
    }
    default:
      throw invalidFilter(`${n.attrPath} cannot be filtered on: the filterable attributes are ${FILTERABLE}`);
  }
}

/** A filter as the conditions of a user lookup, all of which must hold. */
export function compileFilter(text: string, org: string): UserCondition[] {
  const out: UserCondition[] = [];
  compile(parseFilter(text), org, out);
  return out;
}
