// SCIM PATCH (RFC 7644, section 3.5.2) over a User resource, ours rather than scim-patch's (see
// docs/design.md): every path is resolved against the served schema (./schema.ts) before anything
// is written, so no path can name a key the schema lacks, `constructor` and `__proto__` included.
// Entra's default job is taken as it comes: `Add`/`Replace`/`Remove`, booleans as "False" (read by
// ./resource.ts), and a path-less replace whose value holds dotted paths and extension URNs as keys.
import { ApiError } from "../errors.js";
import { parseFilter } from "./filter.js";
import type { Resource } from "./resource.js";
import { canonicalUser, MAX_VALUES, readValue } from "./resource.js";
import {
  type AttributeDef,
  afterUrn,
  CORE_USER,
  coreAttribute,
  ENTERPRISE_USER,
  enterpriseAttribute,
  isUrn,
  PATCH_OP,
  subAttribute,
} from "./schema.js";

export const MAX_OPERATIONS = 100;
const MAX_PATH_LENGTH = 512;

type Op = "add" | "replace" | "remove";
type Obj = Record<string, unknown>;

interface Target {
  /** The enterprise extension's object, or the resource itself. */
  inExtension: boolean;
  /** Absent: the whole extension object. */
  attribute?: AttributeDef;
  /** A value filter on a multi-valued attribute's elements. */
  filter?: ElementFilter;
  sub?: AttributeDef;
}

type ElementFilter = (element: Obj) => boolean;

const invalidPath = (detail: string) => new ApiError("invalid_path", detail);
const isObject = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** A value filter's tree as a test of one element; `eq` on a sub-attribute may also make one. */
function elementFilter(text: string, def: AttributeDef): { test: ElementFilter; makes?: Obj } {
  const node = parseFilter(text) as { op: string; attrPath?: string; compValue?: unknown };
  const value = (e: Obj, path: string | undefined) => {
    const sub = path === undefined ? undefined : subAttribute(def, path);
    if (!sub) throw invalidPath(`${def.name}[${text}]: ${path} is not an attribute of ${def.name}`);
    return { sub, v: e[sub.name] };
  };
  const same = (a: unknown, b: unknown) =>
    typeof a === "string" && typeof b === "string" ? a.toLowerCase() === b.toLowerCase() : a === b;
  const test = (n: any, e: Obj): boolean => {
    switch (n.op) {
      case "and":
        return n.filters.every((f: unknown) => test(f, e));
      case "or":
        return n.filters.some((f: unknown) => test(f, e));
      case "not":
        return !test(n.filter, e);
      case "pr":
        return value(e, n.attrPath).v !== undefined;
      case "eq":
        return same(value(e, n.attrPath).v, n.compValue);
      case "ne":
        return !same(value(e, n.attrPath).v, n.compValue);
      case "co":
      case "sw":
      case "ew": {
        const v = value(e, n.attrPath).v;
        if (typeof v !== "string" || typeof n.compValue !== "string") return false;
        const [a, b] = [v.toLowerCase(), n.compValue.toLowerCase()];
        return n.op === "co" ? a.includes(b) : n.op === "sw" ? a.startsWith(b) : a.endsWith(b);
      }
      default:
        throw invalidPath(`${def.name}[${text}]: the operator "${n.op}" is not supported in a value filter`);
    }
  };
  // Every name is checked once, so a bad filter fails whether or not anything matches.
  const check = (n: any): void => {
    if (n.filters) for (const f of n.filters) check(f);
    else if (n.filter) check(n.filter);
    else if (!["eq", "ne", "co", "sw", "ew", "pr"].includes(n.op))
      throw invalidPath(`${def.name}[${text}]: the operator "${n.op}" is not supported in a value filter`);
    else value({}, n.attrPath);
  };
  check(node);
  const makes =
    node.op === "eq" && node.attrPath !== undefined
      ? { [value({}, node.attrPath).sub.name]: node.compValue }
      : undefined;
  return { test: (e) => test(node, e), makes };
}

interface Resolved extends Target {
  /** What an add or replace through the filter makes when no element matches: `type eq "mobile"`. */
  makes?: Obj;
}

/** A path (`name.givenName`, `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:manager`). */
function resolve(path: string): Resolved {
  if (path.length > MAX_PATH_LENGTH) throw invalidPath(`a path is at most ${MAX_PATH_LENGTH} characters`);
  if (isUrn(path, ENTERPRISE_USER)) return { inExtension: true };
  const ext = afterUrn(path, ENTERPRISE_USER);
  const rest = ext ?? afterUrn(path, CORE_USER) ?? path;
  const m = /^([A-Za-z$][\w$-]*)(?:\[(.*)\])?(?:\.([A-Za-z$][\w$-]*))?$/s.exec(rest);
  if (!m) throw invalidPath(`"${path}" is not an attribute path`);
  const attribute = ext !== undefined ? enterpriseAttribute(m[1]!) : coreAttribute(m[1]!);
  if (!attribute) throw invalidPath(`"${path}": ${m[1]} is not an attribute of Users here (see /scim/v2/Schemas)`);
  if (attribute.mutability === "readOnly") throw new ApiError("mutability", `${attribute.name} is read-only`);
  const out: Resolved = { inExtension: ext !== undefined, attribute };
  if (m[2] !== undefined) {
    if (!attribute.multiValued || attribute.type !== "complex")
      throw invalidPath(`"${path}": only multi-valued attributes take a value filter`);
    const f = elementFilter(m[2], attribute);
    out.filter = f.test;
    if (f.makes) out.makes = f.makes;
  }
  if (m[3] !== undefined) {
    const sub = subAttribute(attribute, m[3]);
    if (!sub) throw invalidPath(`"${path}": ${m[3]} is not an attribute of ${attribute.name}`);
    if (sub.mutability === "readOnly") throw new ApiError("mutability", `${attribute.name}.${sub.name} is read-only`);
    out.sub = sub;
  }
  return out;
}

/** A value with canonical names, for its target: Entra sends a manager as its id alone. */
function valueFor(def: AttributeDef, value: unknown, where: string): unknown {
  if (def.name === "manager" && typeof value === "string") return readValue(def, { value }, where);
  return readValue(def, value, where);
}

function apply(resource: Resource, op: Op, t: Resolved, raw: unknown): void {
  const holder: Obj = t.inExtension ? ((resource[ENTERPRISE_USER] as Obj | undefined) ?? {}) : resource;
  if (t.inExtension) resource[ENTERPRISE_USER] = holder;
  if (!t.attribute) {
    // The whole extension: its attributes, one by one.
    if (op === "remove") delete resource[ENTERPRISE_USER];
    else {
      if (!isObject(raw)) throw new ApiError("value_not_permitted", `${ENTERPRISE_USER} takes an object`);
      for (const [k, v] of Object.entries(raw)) apply(resource, op, resolve(`${ENTERPRISE_USER}:${k}`), v);
    }
    return;
  }
  const def = t.attribute;
  const name = def.name;
  // A null value unassigns (RFC 7644, section 3.5.2).
  const removing = op === "remove" || raw === null;
  if (def.multiValued && t.filter === undefined && t.sub === undefined) {
    if (removing) {
      if (op === "remove" && Array.isArray(raw)) {
        // Remove the elements named by value (as for group members).
        const gone = new Set(raw.map((r) => (isObject(r) ? r.value : r)));
        holder[name] = ((holder[name] ?? []) as Obj[]).filter((e) => !gone.has(e.value));
      } else delete holder[name];
      return;
    }
    const items = valueFor(def, raw, name) as unknown[];
    const current = op === "add" ? ((holder[name] ?? []) as unknown[]) : [];
    const seen = new Set(current.map((e) => JSON.stringify(e)));
    holder[name] = [...current, ...items.filter((e) => !seen.has(JSON.stringify(e)))];
    return;
  }
  if (def.multiValued) {
    const elements = (holder[name] ?? []) as Obj[];
    const matches = elements.filter((e) => (t.filter ? t.filter(e) : true));
    if (removing) {
      if (t.sub) for (const e of matches) delete e[t.sub.name];
      else holder[name] = elements.filter((e) => !matches.includes(e));
      return;
    }
    const value = t.sub
      ? readValue(t.sub, raw, `${name}.${t.sub.name}`)
      : valueFor({ ...def, multiValued: false }, raw, name);
    const set = (e: Obj) => (t.sub ? { ...e, [t.sub.name]: value } : { ...e, ...(value as Obj) });
    if (matches.length > 0) holder[name] = elements.map((e) => (matches.includes(e) ? set(e) : e));
    else if (t.filter === undefined || t.makes) {
      if (elements.length >= MAX_VALUES)
        throw new ApiError("value_not_permitted", `${name} takes at most ${MAX_VALUES} values`);
      holder[name] = [...elements, set({ ...t.makes })];
    } else throw new ApiError("no_target", `no element of ${name} matches the path's filter`);
    return;
  }
  if (t.sub) {
    const parent = (holder[name] ?? {}) as Obj;
    if (removing) delete parent[t.sub.name];
    else parent[t.sub.name] = readValue(t.sub, raw, `${name}.${t.sub.name}`);
    holder[name] = parent;
    return;
  }
  if (removing) delete holder[name];
  else if (def.type === "complex")
    holder[name] = { ...(holder[name] as Obj | undefined), ...(valueFor(def, raw, name) as Obj) };
  else holder[name] = readValue(def, raw, name);
}

/** What the body asks, as operations: checked as a whole before any is applied. */
function operationsOf(body: unknown): { op: Op; path?: string; value: unknown }[] {
  if (!isObject(body)) throw new ApiError("invalid_syntax", "the body must be a PatchOp JSON object");
  const get = (key: string) => Object.entries(body).find(([k]) => k.toLowerCase() === key)?.[1];
  const schemas = get("schemas");
  if (
    schemas !== undefined &&
    !(Array.isArray(schemas) && schemas.some((s) => typeof s === "string" && isUrn(s, PATCH_OP)))
  )
    throw new ApiError("invalid_syntax", `schemas must hold ${PATCH_OP}`);
  const ops = get("operations");
  if (!Array.isArray(ops) || ops.length === 0)
    throw new ApiError("invalid_syntax", "Operations must be a list of operations");
  if (ops.length > MAX_OPERATIONS)
    throw new ApiError("invalid_syntax", `at most ${MAX_OPERATIONS} operations a request`);
  return ops.map((o, i) => {
    if (!isObject(o)) throw new ApiError("invalid_syntax", `Operations[${i}] must be an object`);
    const field = (key: string) => Object.entries(o).find(([k]) => k.toLowerCase() === key)?.[1];
    const op = field("op");
    const path = field("path");
    // Entra's default job capitalises op: Add, Replace, Remove.
    const name = typeof op === "string" ? op.toLowerCase() : undefined;
    if (name !== "add" && name !== "replace" && name !== "remove")
      throw new ApiError("invalid_syntax", `Operations[${i}].op must be add, replace or remove`);
    if (path !== undefined && typeof path !== "string") throw invalidPath(`Operations[${i}].path must be a string`);
    if (name === "remove" && (path === undefined || path === ""))
      throw new ApiError("no_target", `Operations[${i}]: remove needs a path`);
    if (name !== "remove" && field("value") === undefined)
      throw new ApiError("invalid_syntax", `Operations[${i}]: ${name} needs a value`);
    return { op: name, path: path === "" ? undefined : path, value: field("value") };
  });
}

/** The resource after the body's operations, in order; the resource given is left as it was. */
export function applyPatch(resource: Resource, body: unknown): Resource {
  const out = structuredClone(resource);
  for (const { op, path, value } of operationsOf(body)) {
    if (path !== undefined) {
      apply(out, op, resolve(path), value);
      continue;
    }
    // No path: the value's keys are the paths (RFC 7644), and Entra writes dotted paths and
    // extension URNs among them.
    if (!isObject(value)) throw new ApiError("invalid_syntax", `${op} without a path takes an object value`);
    for (const [key, v] of Object.entries(value)) apply(out, op, resolve(key), v);
  }
  // Checked and made canonical as a whole, as a PUT body would be.
  return { ...canonicalUser(out), id: resource.id, meta: resource.meta };
}
