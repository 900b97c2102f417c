// A SCIM User resource and the directory's user, both ways: what a GET answers (toScimUser) and
// what a POST, PUT or patched resource says (readUser), checked attribute by attribute against
// the served schema (./schema.ts). Attribute names are matched case-insensitively; an attribute
// the schema does not have is refused, never dropped; read-only ones (id, meta, groups) are
// ignored as RFC 7644 says, and a password is discarded.
import { ApiError } from "../errors.js";
import type { ProvisionedProfile, ProvisionedUser } from "../services/provisioning.js";
import { currentTitle } from "../services/provisioning.js";
import {
  type AttributeDef,
  CORE_USER,
  coreAttribute,
  ENTERPRISE_USER,
  enterpriseAttribute,
  isUrn,
  subAttribute,
} from "./schema.js";

export type Resource = Record<string, unknown>;

/** Most values a multi-valued attribute takes. */
export const MAX_VALUES = 20;

const invalid = (detail: string) => new ApiError("value_not_permitted", detail);
const syntax = (detail: string) => new ApiError("invalid_syntax", detail);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Entra's default job sends booleans as "True" and "False". */
function readBoolean(value: unknown, where: string): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
  throw invalid(`${where} must be a boolean`);
}

/** A value checked against its definition, with canonical attribute names; undefined for null. */
export function readValue(def: AttributeDef, value: unknown, where: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (def.multiValued) {
    // A lone value where a list is expected: taken as a list of one (some providers send that).
    const items = Array.isArray(value) ? value : [value];
    if (items.length > MAX_VALUES) throw invalid(`${where} takes at most ${MAX_VALUES} values`);
    const single = { ...def, multiValued: false };
    return items.map((item, i) => readValue(single, item, `${where}[${i}]`)).filter((v) => v !== undefined);
  }
  switch (def.type) {
    case "boolean":
      return readBoolean(value, where);
    case "complex": {
      if (!isObject(value)) throw invalid(`${where} must be an object`);
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const sub = subAttribute(def, key);
        if (!sub) throw syntax(`${where}.${key} is not an attribute of ${where} (see /scim/v2/Schemas)`);
        if (sub.mutability === "readOnly") continue;
        const read = readValue(sub, v, `${where}.${sub.name}`);
        if (read !== undefined) out[sub.name] = read;
      }
      return Object.keys(out).length === 0 ? undefined : out;
    }
    default: {
      if (typeof value !== "string") throw invalid(`${where} must be a string`);
      if (value.length > (def.maxLength ?? 256)) throw invalid(`${where} must be at most ${def.maxLength} characters`);
      return value;
    }
  }
}

/** A body's attributes with canonical names and checked values; read-only ones left out. */
export function canonicalUser(body: unknown): Resource {
  if (!isObject(body)) throw syntax("the body must be a JSON object: a User resource");
  const out: Resource = {};
  for (const [key, value] of Object.entries(body)) {
    if (key.toLowerCase() === "schemas") {
      const list = Array.isArray(value) ? value : [value];
      for (const s of list) {
        if (typeof s !== "string" || (!isUrn(s, CORE_USER) && !isUrn(s, ENTERPRISE_USER)))
          throw invalid(
            `schemas: ${JSON.stringify(s)} is not a schema of Users here (${CORE_USER}, ${ENTERPRISE_USER})`,
          );
      }
      continue;
    }
    if (isUrn(key, ENTERPRISE_USER)) {
      if (value === null) continue;
      if (!isObject(value)) throw invalid(`${ENTERPRISE_USER} must be an object`);
      const ext: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const def = enterpriseAttribute(k);
        if (!def) throw syntax(`${ENTERPRISE_USER}:${k} is not an attribute of the enterprise extension`);
        // Entra sends the manager as its id alone.
        const read = readValue(def, def.name === "manager" && typeof v === "string" ? { value: v } : v, def.name);
        if (read !== undefined) ext[def.name] = read;
      }
      if (Object.keys(ext).length > 0) out[ENTERPRISE_USER] = ext;
      continue;
    }
    if (key.toLowerCase() === "meta") continue;
    const def = coreAttribute(key);
    if (!def) throw syntax(`${key} is not an attribute of Users here (see /scim/v2/Schemas)`);
    if (def.mutability === "readOnly" || def.mutability === "writeOnly") continue;
    const read = readValue(def, value, def.name);
    if (read !== undefined) out[def.name] = read;
  }
  return out;
}

type Name = { formatted?: string; givenName?: string; middleName?: string; familyName?: string };

/** The full name a name's parts make, as Okta sends a name (parts, no formatted). */
export const composeName = (n: Name | undefined) =>
  [n?.givenName, n?.middleName, n?.familyName].filter((p) => p && p.trim() !== "").join(" ");

/** Attributes the directory holds itself, never among what is kept as sent. */
const MAPPED = new Set(["externalId", "userName", "displayName", "title", "timezone", "active"]);

/**
 * What a resource says, in the directory's terms. `patched`: the resource is a whole user after
 * a PATCH, so an externalId it lacks was removed; a PUT without one leaves the link alone.
 */
export function readUser(body: unknown, patched = false): ProvisionedProfile {
  const user = canonicalUser(body);
  const userName = user.userName;
  if (typeof userName !== "string" || userName.trim() === "")
    throw new ApiError("missing_required_field", "userName is required");
  const name = user.name as Name | undefined;
  const ext = (user[ENTERPRISE_USER] ?? {}) as Record<string, unknown>;
  const manager = (ext.manager as { value?: string } | undefined)?.value;
  const extras: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(user)) if (!MAPPED.has(k) && k !== ENTERPRISE_USER) extras[k] = v;
  const { manager: _m, ...keptExt } = ext;
  if (Object.keys(keptExt).length > 0) extras[ENTERPRISE_USER] = keptExt;
  const externalId = user.externalId as string | undefined;
  if (externalId !== undefined && externalId.trim() === "") throw invalid("externalId must not be empty");
  // The full name is indexed (sorting), and bounded like the API's: parts can make a longer one.
  const fullName = name?.formatted ?? composeName(name);
  if (fullName.length > 256) throw invalid("name: the full name its parts make is longer than 256 characters");
  const profile: ProvisionedProfile = {
    email: userName,
    fullName,
    phoneNumbers: ((user.phoneNumbers ?? []) as { value?: string }[]).flatMap((p) => (p.value ? [p.value] : [])),
    manager: manager === undefined || manager === "" ? null : manager,
    extras,
  };
  if (typeof user.displayName === "string") profile.displayName = user.displayName;
  if (typeof user.active === "boolean") profile.active = user.active;
  if (typeof user.title === "string") profile.title = user.title;
  if (typeof user.timezone === "string") profile.timezone = user.timezone;
  if (externalId !== undefined) profile.externalId = externalId;
  else if (patched) profile.externalId = null;
  return profile;
}

/** A user's resource as GET answers it; `base` is the service's /scim/v2 URL. */
export function toScimUser(view: ProvisionedUser, base: string): Resource {
  const { row, extras } = view;
  const id = `DEVU-${row.number}`;
  const hasExt = view.manager !== undefined || extras[ENTERPRISE_USER] !== undefined;
  const out: Resource = { schemas: hasExt ? [CORE_USER, ENTERPRISE_USER] : [CORE_USER], id };
  if (view.externalId !== undefined) out.externalId = view.externalId;
  out.userName = row.email;
  // The parts as sent, while they still make the full name the directory has.
  const kept = extras.name as Name | undefined;
  const parts = kept && (kept.formatted ?? composeName(kept)) === row.full_name ? kept : {};
  const name: Name = row.full_name ? { formatted: row.full_name } : {};
  for (const [k, v] of Object.entries(parts)) if (k !== "formatted") name[k as keyof Name] = v;
  if (Object.keys(name).length > 0) out.name = name;
  out.displayName = row.display_name;
  out.active = row.state === "active";
  const title = currentTitle(row.job_history);
  if (title !== undefined) out.title = title;
  if (row.timezone !== null) out.timezone = row.timezone;
  out.emails = extras.emails ?? [{ value: row.email, type: "work", primary: true }];
  const phones = JSON.parse(row.phone_numbers) as string[];
  const sent = (extras.phoneNumbers ?? []) as { value?: string }[];
  if (phones.length > 0) out.phoneNumbers = phones.map((value) => ({ ...sent.find((p) => p.value === value), value }));
  for (const [k, v] of Object.entries(extras)) {
    if (k !== "name" && k !== "emails" && k !== "phoneNumbers" && k !== ENTERPRISE_USER) out[k] = v;
  }
  if (hasExt) {
    const ext: Record<string, unknown> = { ...(extras[ENTERPRISE_USER] as object | undefined) };
    const m = view.manager;
    if (m)
      ext.manager = { value: `DEVU-${m.number}`, $ref: `${base}/Users/DEVU-${m.number}`, displayName: m.display_name };
    out[ENTERPRISE_USER] = ext;
  }
  out.meta = {
    resourceType: "User",
    created: row.created_date,
    lastModified: row.modified_date,
    location: `${base}/Users/${id}`,
  };
  return out;
}
