// `attributes` and `excludedAttributes` (RFC 7644, section 3.9): which attributes an answer
// carries. `schemas` and `id` always come; a name the schema does not have is refused.
import { ApiError } from "../errors.js";
import type { Resource } from "./resource.js";
import {
  afterUrn,
  CORE_USER,
  coreAttribute,
  ENTERPRISE_USER,
  enterpriseAttribute,
  isUrn,
  subAttribute,
} from "./schema.js";

interface Selected {
  /** Inside the enterprise extension's object. */
  inExtension: boolean;
  /** Absent: the whole extension. */
  name?: string;
  sub?: string;
}

const MAX_NAMES = 50;

function selected(raw: string, param: string): Selected[] {
  const names = raw
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  if (names.length > MAX_NAMES)
    throw new ApiError("value_not_permitted", `${param} names at most ${MAX_NAMES} attributes`);
  return names.map((path) => {
    if (isUrn(path, ENTERPRISE_USER)) return { inExtension: true };
    const ext = afterUrn(path, ENTERPRISE_USER);
    const [head = "", sub, ...more] = (ext ?? afterUrn(path, CORE_USER) ?? path).split(".");
    const def = ext === undefined ? coreAttribute(head) : enterpriseAttribute(head);
    const subDef = def && sub !== undefined ? subAttribute(def, sub) : undefined;
    if (head.toLowerCase() === "meta" && ext === undefined && sub === undefined)
      return { inExtension: false, name: "meta" };
    if (!def || more.length > 0 || (sub !== undefined && !subDef))
      throw new ApiError("value_not_permitted", `${param}: ${path} is not an attribute of Users here`);
    return { inExtension: ext !== undefined, name: def.name, sub: subDef?.name };
  });
}

type Obj = Record<string, unknown>;

function pick(from: Resource, s: Selected, into: Resource): void {
  const source = s.inExtension ? (from[ENTERPRISE_USER] as Obj | undefined) : from;
  if (source === undefined) return;
  if (s.inExtension && into[ENTERPRISE_USER] === undefined) into[ENTERPRISE_USER] = {};
  const target = s.inExtension ? (into[ENTERPRISE_USER] as Obj) : into;
  if (s.name === undefined) {
    into[ENTERPRISE_USER] = source;
    return;
  }
  const value = source[s.name];
  if (value === undefined) return;
  if (s.sub === undefined) target[s.name] = value;
  else if (Array.isArray(value)) {
    // Several sub-attributes of one multi-valued attribute land in the same elements.
    const sub = s.sub;
    const picked = target[s.name] as Obj[] | undefined;
    target[s.name] = value.map((e: Obj, i) => ({ ...picked?.[i], [sub]: e[sub] }));
  } else target[s.name] = { ...(target[s.name] as Obj | undefined), [s.sub]: (value as Obj)[s.sub] };
}

function drop(from: Resource, s: Selected): void {
  if (s.name === undefined) {
    delete from[ENTERPRISE_USER];
    return;
  }
  const holder = s.inExtension ? (from[ENTERPRISE_USER] as Obj | undefined) : from;
  if (!holder || s.name === "id") return;
  if (s.sub === undefined) delete holder[s.name];
  else {
    const value = holder[s.name];
    for (const e of Array.isArray(value) ? value : [value]) if (e && typeof e === "object") delete (e as Obj)[s.sub];
  }
}

/** Checks both parameters, and returns what shapes each resource of the answer. */
export function projection(attributes?: string, excluded?: string): (r: Resource) => Resource {
  if (attributes !== undefined && excluded !== undefined)
    throw new ApiError("value_not_permitted", "give attributes or excludedAttributes, not both");
  if (attributes !== undefined) {
    const wanted = selected(attributes, "attributes");
    return (r) => {
      const out: Resource = { schemas: r.schemas, id: r.id };
      for (const s of wanted) pick(r, s, out);
      return out;
    };
  }
  if (excluded !== undefined) {
    const unwanted = selected(excluded, "excludedAttributes");
    return (r) => {
      const out = structuredClone(r);
      for (const s of unwanted) drop(out, s);
      return out;
    };
  }
  return (r) => r;
}
