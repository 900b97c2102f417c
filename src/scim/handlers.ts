// What each SCIM endpoint does: read the request in SCIM's terms, call the provisioning services,
// answer in SCIM's terms. Loaded on the first SCIM request (./routes.ts), not at start.
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../errors.js";
import { parseDevUserId } from "../ids.js";
import type { Deps, ScimCaller } from "../services/context.js";
import { getProvisionedUser, listProvisionedUsers, MAX_PAGE } from "../services/provisioning.js";
import {
  createProvisionedUser,
  deleteProvisionedUser,
  updateProvisionedUser,
} from "../services/provisioning-writes.js";
import { resourceTypeById, resourceTypes, schemaById, schemas, serviceProviderConfig } from "./discovery.js";
import { compileFilter } from "./filter.js";
import { applyPatch } from "./patch.js";
import { projection } from "./project.js";
import { composeName, type Resource, readUser, toScimUser } from "./resource.js";
import { LIST_RESPONSE } from "./schema.js";

export const MEDIA_TYPE = "application/scim+json; charset=utf-8";

const invalid = (detail: string) => new ApiError("value_not_permitted", detail);

/**
 * Entra's flag for SCIM-compliant requests (`?aadOptscim062020`, added to the tenant URL) rides on
 * every request it sends: taken and ignored wherever it is.
 */
const ENTRA_FLAG = /^aadoptscim062020$/i;

const LIST_PARAMETERS = ["filter", "startIndex", "count", "attributes", "excludedAttributes"];
const ONE_PARAMETERS = ["attributes", "excludedAttributes"];

/** The query's parameters among `allowed` (by name, without regard to case); any other is refused. */
function parametersOf(req: FastifyRequest, allowed: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.query as Record<string, unknown>)) {
    if (ENTRA_FLAG.test(key)) continue;
    if (/^sort(By|Order)$/i.test(key))
      throw invalid(`${key}: sorting is not supported (see /scim/v2/ServiceProviderConfig); users come in id order`);
    const name = allowed.find((a) => a.toLowerCase() === key.toLowerCase());
    if (!name) {
      throw invalid(
        allowed.length === 0
          ? `this endpoint takes no query parameter (${key} was given)`
          : `${key} is not a query parameter of this endpoint: ${allowed.join(", ")}`,
      );
    }
    if (typeof value !== "string") throw invalid(`${key} is given more than once`);
    out[name] = value;
  }
  return out;
}

function integer(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^-?\d{1,15}$/.test(raw.trim())) throw invalid(`${name} must be an integer`);
  return Number(raw.trim());
}

/** Where this service's SCIM base is, as the request reached it. */
const baseOf = (req: FastifyRequest) => `${req.protocol}://${req.host}/scim/v2`;

/** A user's number from the id in a URL: an id that names no user of the org is a 404. */
function userNumber(req: FastifyRequest, p: ScimCaller): number {
  const id = (req.params as { id: string }).id;
  try {
    return parseDevUserId(id, "id", p.org);
  } catch {
    throw new ApiError("not_found", `no user ${id}`);
  }
}

const scimOf = (req: FastifyRequest) => req.scim!;

function send(reply: FastifyReply, body: unknown, status = 200) {
  return reply.code(status).type(MEDIA_TYPE).send(JSON.stringify(body));
}

export const discovery = {
  serviceProviderConfig: (req: FastifyRequest, reply: FastifyReply) => {
    parametersOf(req, []);
    return send(reply, serviceProviderConfig(baseOf(req)));
  },
  schemas: (req: FastifyRequest, reply: FastifyReply) => {
    parametersOf(req, []);
    return send(reply, schemas(baseOf(req)));
  },
  schema: (req: FastifyRequest, reply: FastifyReply) => {
    parametersOf(req, []);
    return send(reply, schemaById(baseOf(req), (req.params as { id: string }).id));
  },
  resourceTypes: (req: FastifyRequest, reply: FastifyReply) => {
    parametersOf(req, []);
    return send(reply, resourceTypes(baseOf(req)));
  },
  resourceType: (req: FastifyRequest, reply: FastifyReply) => {
    parametersOf(req, []);
    return send(reply, resourceTypeById(baseOf(req), (req.params as { id: string }).id));
  },
  groups: () => {
    throw new ApiError(
      "not_found",
      "Groups are not supported: Users is the only resource type (see /scim/v2/ResourceTypes)",
    );
  },
};

/** A patched name whose full name was made from its parts is made again from the new parts. */
function keepNameComposed(before: Resource, after: Resource): void {
  const was = before.name as Record<string, string> | undefined;
  const now = after.name as Record<string, string> | undefined;
  if (!was || !now || was.formatted === undefined || now.formatted !== was.formatted) return;
  if (composeName(was) !== was.formatted || composeName(now) === composeName(was)) return;
  now.formatted = composeName(now);
}

export function userHandlers(deps: Deps) {
  return {
    list: async (req: FastifyRequest, reply: FastifyReply) => {
      const p = scimOf(req);
      const q = parametersOf(req, LIST_PARAMETERS);
      const shape = projection(q.attributes, q.excludedAttributes);
      const conditions = q.filter === undefined ? [] : compileFilter(q.filter, p.org);
      // RFC 7644, section 3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
      const startIndex = Math.max(1, integer(q.startIndex, "startIndex", 1));
      const count = Math.min(Math.max(0, integer(q.count, "count", MAX_PAGE)), MAX_PAGE);
      const page = await listProvisionedUsers(deps, p, { conditions, startIndex, count });
      const base = baseOf(req);
      return send(reply, {
        schemas: [LIST_RESPONSE],
        totalResults: page.total,
        startIndex,
        itemsPerPage: page.users.length,
        Resources: page.users.map((u) => shape(toScimUser(u, base))),
      });
    },
    get: async (req: FastifyRequest, reply: FastifyReply) => {
      const p = scimOf(req);
      const q = parametersOf(req, ONE_PARAMETERS);
      const shape = projection(q.attributes, q.excludedAttributes);
      return send(reply, shape(toScimUser(await getProvisionedUser(deps, p, userNumber(req, p)), baseOf(req))));
    },
    create: async (req: FastifyRequest, reply: FastifyReply) => {
      const p = scimOf(req);
      parametersOf(req, []);
      const user = toScimUser(await createProvisionedUser(deps, p, readUser(req.body)), baseOf(req));
      reply.header("location", (user.meta as { location: string }).location);
      return send(reply, user, 201);
    },
    replace: async (req: FastifyRequest, reply: FastifyReply) => {
      const p = scimOf(req);
      parametersOf(req, []);
      const profile = readUser(req.body);
      const view = await updateProvisionedUser(deps, p, userNumber(req, p), "PUT", () => profile);
      return send(reply, toScimUser(view, baseOf(req)));
    },
    patch: async (req: FastifyRequest, reply: FastifyReply) => {
      const p = scimOf(req);
      parametersOf(req, []);
      const base = baseOf(req);
      const view = await updateProvisionedUser(deps, p, userNumber(req, p), "PATCH", (current) => {
        const before = toScimUser(current, base);
        const after = applyPatch(before, req.body);
        keepNameComposed(before, after);
        return readUser(after, true);
      });
      return send(reply, toScimUser(view, base));
    },
    remove: async (req: FastifyRequest, reply: FastifyReply) => {
      const p = scimOf(req);
      parametersOf(req, []);
      await deleteProvisionedUser(deps, p, userNumber(req, p));
      return reply.code(204).send();
    },
  };
}
