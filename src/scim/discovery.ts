// What the service provider says of itself (RFC 7644, section 4): ServiceProviderConfig, Schemas
// and ResourceTypes, made from the same table the requests are read by (./schema.ts). Users are
// the one resource type: Groups, bulk, sorting, ETags and password changes are not offered.
import { ApiError } from "../errors.js";
import { MAX_PAGE } from "../services/provisioning.js";
import {
  type AttributeDef,
  CORE_ATTRIBUTES,
  CORE_USER,
  ENTERPRISE_ATTRIBUTES,
  ENTERPRISE_USER,
  LIST_RESPONSE,
} from "./schema.js";

const SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

export function serviceProviderConfig(base: string) {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_PAGE },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "OAuth Bearer Token",
        description:
          "The token of the org's SCIM connection for this identity provider, as Authorization: Bearer <token>. " +
          "Made with scim-connections.create or devusers scim create; API tokens are refused here.",
        primary: true,
      },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${base}/ServiceProviderConfig` },
  };
}

/** An attribute as RFC 7643 section 7 describes one (our length bound is not among its fields). */
function described(def: AttributeDef): Record<string, unknown> {
  const { maxLength, subAttributes, ...rest } = def;
  const out: Record<string, unknown> = { ...rest };
  if (maxLength !== undefined) out.description = `${def.description} At most ${maxLength} characters.`;
  if (subAttributes) out.subAttributes = subAttributes.map(described);
  return out;
}

function schemaDocs(base: string) {
  return [
    {
      schemas: [SCHEMA],
      id: CORE_USER,
      name: "User",
      description: "A dev user of the org, as its SCIM connection provisions it.",
      attributes: CORE_ATTRIBUTES.map(described),
      meta: { resourceType: "Schema", location: `${base}/Schemas/${CORE_USER}` },
    },
    {
      schemas: [SCHEMA],
      id: ENTERPRISE_USER,
      name: "EnterpriseUser",
      description: "The enterprise extension: manager is the directory's reports_to; the rest is kept as sent.",
      attributes: ENTERPRISE_ATTRIBUTES.map(described),
      meta: { resourceType: "Schema", location: `${base}/Schemas/${ENTERPRISE_USER}` },
    },
  ];
}

function resourceTypeDocs(base: string) {
  return [
    {
      schemas: [RESOURCE_TYPE],
      id: "User",
      name: "User",
      endpoint: "/Users",
      description: "The org's dev users.",
      schema: CORE_USER,
      schemaExtensions: [{ schema: ENTERPRISE_USER, required: false }],
      meta: { resourceType: "ResourceType", location: `${base}/ResourceTypes/User` },
    },
  ];
}

const listOf = (resources: unknown[]) => ({
  schemas: [LIST_RESPONSE],
  totalResults: resources.length,
  itemsPerPage: resources.length,
  startIndex: 1,
  Resources: resources,
});

export const schemas = (base: string) => listOf(schemaDocs(base));
export const resourceTypes = (base: string) => listOf(resourceTypeDocs(base));

export function schemaById(base: string, id: string) {
  const found = schemaDocs(base).find((s) => s.id.toLowerCase() === id.toLowerCase());
  if (!found) throw new ApiError("not_found", `no schema ${id} here: ${CORE_USER} and ${ENTERPRISE_USER} are served`);
  return found;
}

export function resourceTypeById(base: string, id: string) {
  const found = resourceTypeDocs(base).find((r) => r.id.toLowerCase() === id.toLowerCase());
  if (!found) throw new ApiError("not_found", `no resource type ${id} here: User is the only one`);
  return found;
}
