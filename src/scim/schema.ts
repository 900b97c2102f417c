// The User schema as served (RFC 7643, sections 4.1 and 4.3), attribute by attribute: what each
// maps onto in the directory, or that it is kept as sent. Parsing, PATCH paths, filters and
// /scim/v2/Schemas all read this one table, so what is described is exactly what is taken.

export const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
export const ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
export const LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

export interface AttributeDef {
  name: string;
  type: "string" | "boolean" | "complex" | "reference" | "dateTime";
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: "readOnly" | "readWrite" | "writeOnly";
  returned: "always" | "default" | "never";
  uniqueness: "none" | "server";
  subAttributes?: AttributeDef[];
  referenceTypes?: string[];
  canonicalValues?: string[];
  /** The longest string taken, in characters. */
  maxLength?: number;
}

type Options = Partial<Omit<AttributeDef, "name" | "type" | "description" | "subAttributes">>;

const attr = (name: string, type: AttributeDef["type"], description: string, o: Options = {}): AttributeDef => ({
  name,
  type,
  multiValued: false,
  description,
  required: false,
  caseExact: false,
  mutability: "readWrite",
  returned: "default",
  uniqueness: "none",
  ...(type === "string" || type === "reference" ? { maxLength: 256 } : {}),
  ...o,
});

const KEPT = "Kept as sent, for this connection: the directory has no field for it.";

const complex = (name: string, description: string, subs: AttributeDef[], o: Options = {}): AttributeDef => ({
  ...attr(name, "complex", description, o),
  subAttributes: subs,
});

/** A multi-valued attribute of value, display, type and primary (emails, phoneNumbers, ...). */
const plural = (name: string, description: string, types: string[], valueMax = 256): AttributeDef =>
  complex(
    name,
    description,
    [
      attr("value", "string", `The ${name} value.`, { maxLength: valueMax }),
      attr("display", "string", "A label for the value."),
      attr("type", "string", "What kind of value this is.", { canonicalValues: types }),
      attr("primary", "boolean", "Whether this is the preferred value."),
    ],
    { multiValued: true },
  );

export const CORE_ATTRIBUTES: AttributeDef[] = [
  attr("id", "string", "The user's id here: DEVU-<n>, its display id in the directory.", {
    mutability: "readOnly",
    returned: "always",
    uniqueness: "server",
    caseExact: true,
  }),
  attr(
    "externalId",
    "string",
    "The provider's id of the user: the user's linked identity from this connection's issuer.",
    {
      caseExact: true,
      maxLength: 500,
    },
  ),
  attr("userName", "string", "The user's email in the directory (unique in the org, compared case-insensitively).", {
    required: true,
    uniqueness: "server",
    maxLength: 320,
  }),
  complex("name", "The user's name: formatted is the directory's full name; the parts are kept as sent.", [
    attr(
      "formatted",
      "string",
      "The full name (the directory's full_name); when absent, givenName middleName familyName.",
    ),
    attr("familyName", "string", KEPT),
    attr("givenName", "string", KEPT),
    attr("middleName", "string", KEPT),
    attr("honorificPrefix", "string", KEPT),
    attr("honorificSuffix", "string", KEPT),
  ]),
  attr("displayName", "string", "The directory's display name; when absent, the email's local part."),
  attr("nickName", "string", KEPT),
  attr("profileUrl", "reference", KEPT, { referenceTypes: ["external"], maxLength: 2048 }),
  attr("title", "string", "The title of the user's current job (job_history)."),
  attr("userType", "string", KEPT),
  attr("preferredLanguage", "string", KEPT),
  attr("locale", "string", KEPT),
  attr("timezone", "string", "The directory's timezone.", { maxLength: 64 }),
  attr(
    "active",
    "boolean",
    'true: the user is active; false: deactivated (its tokens end). Strings "True"/"False" are read too.',
  ),
  attr("password", "string", "Accepted and discarded: the directory holds no credentials.", {
    mutability: "writeOnly",
    returned: "never",
  }),
  plural("emails", `The user's emails. ${KEPT} Without any, the directory's email, as work and primary.`, [
    "work",
    "home",
    "other",
  ]),
  plural(
    "phoneNumbers",
    "The directory's phone numbers (their values); type, display and primary are kept as sent.",
    ["work", "home", "mobile", "fax", "pager", "other"],
    64,
  ),
  plural("ims", KEPT, ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
  plural("photos", KEPT, ["photo", "thumbnail"], 2048),
  complex(
    "addresses",
    KEPT,
    ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type"]
      .map((n) => attr(n, "string", KEPT))
      .concat([attr("primary", "boolean", KEPT)]),
    { multiValued: true },
  ),
  complex(
    "groups",
    "Not supported: never answered, and ignored in requests.",
    [attr("value", "string", "The group.")],
    {
      multiValued: true,
      mutability: "readOnly",
    },
  ),
  plural("entitlements", KEPT, []),
  plural("roles", `${KEPT} (The directory's role comes from the connection's default_role.)`, []),
  plural("x509Certificates", KEPT, [], 8192),
];

export const ENTERPRISE_ATTRIBUTES: AttributeDef[] = [
  ...["employeeNumber", "costCenter", "organization", "division", "department"].map((n) => attr(n, "string", KEPT)),
  complex("manager", "The user's manager: the directory's reports_to.", [
    attr("value", "string", "The manager's id here (DEVU-<n>).", { caseExact: true }),
    attr("$ref", "reference", "The manager's URI here.", { referenceTypes: ["User"], mutability: "readOnly" }),
    attr("displayName", "string", "The manager's display name.", { mutability: "readOnly" }),
  ]),
];

const byLowerName = (defs: AttributeDef[]) => new Map(defs.map((d) => [d.name.toLowerCase(), d]));
const CORE_BY_NAME = byLowerName(CORE_ATTRIBUTES);
const ENTERPRISE_BY_NAME = byLowerName(ENTERPRISE_ATTRIBUTES);
/** Attribute names are case-insensitive (RFC 7643, section 2.1). */
export const coreAttribute = (name: string) => CORE_BY_NAME.get(name.toLowerCase());
export const enterpriseAttribute = (name: string) => ENTERPRISE_BY_NAME.get(name.toLowerCase());
export const subAttribute = (def: AttributeDef, name: string) =>
  def.subAttributes?.find((s) => s.name.toLowerCase() === name.toLowerCase());

export const isUrn = (value: string, urn: string) => value.toLowerCase() === urn.toLowerCase();
/** `urn:…:User:attr` → `attr` when `value` starts with the URN and a colon. */
export function afterUrn(value: string, urn: string): string | undefined {
  return value.length > urn.length && value.charAt(urn.length) === ":" && isUrn(value.slice(0, urn.length), urn)
    ? value.slice(urn.length + 1)
    : undefined;
}
