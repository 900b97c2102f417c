// SCIM 2.0 (RFC 7643, RFC 7644) under /scim/v2, for identity providers (Okta, Microsoft Entra ID)
// provisioning an org's users. Every request takes a SCIM connection's token and nothing else
// (app.ts, services/scim-connections.ts); errors are SCIM's (plugins/error-handler.ts).
//
// One Fastify route serves the whole prefix and dispatches on the path: registering each endpoint
// as a route of its own added about 20 ms of CPU to every start (measured, docs/performance.md),
// for a protocol most deployments never speak. For the same reason the handlers, the filter
// parser and the PATCH code are loaded on the first SCIM request.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../errors.js";
import type { Deps } from "../services/context.js";

type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;
type Handlers = typeof import("./handlers.js");
type Loaded = { module: Handlers; users: ReturnType<Handlers["userHandlers"]> };
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

declare module "fastify" {
  interface FastifyRequest {
    /** The operation a request served, for the metrics, where one route serves several. */
    operation?: string;
  }
}

/** What serves each path and method, with the operation's name (metrics, logs). */
function endpoint(
  method: string,
  path: string,
): { operation: string; params?: { id: string }; pick: (h: Loaded) => Handler } | undefined {
  const [resource = "", id, ...rest] = path.split("/");
  if (rest.length > 0 || id === "") return undefined;
  const m = (method === "HEAD" ? "GET" : method) as Method;
  const params = id === undefined ? undefined : { id };
  const one = (operation: string, pick: (h: Loaded) => Handler) =>
    m === "GET" ? { operation, params, pick } : undefined;
  switch (resource) {
    case "ServiceProviderConfig":
      return id === undefined
        ? one("scim-service-provider-config", (h) => h.module.discovery.serviceProviderConfig)
        : undefined;
    case "Schemas":
      return id === undefined
        ? one("scim-schemas", (h) => h.module.discovery.schemas)
        : one("scim-schema", (h) => h.module.discovery.schema);
    case "ResourceTypes":
      return id === undefined
        ? one("scim-resource-types", (h) => h.module.discovery.resourceTypes)
        : one("scim-resource-type", (h) => h.module.discovery.resourceType);
    case "Groups":
      // Named, so a provider that tries Groups learns why they are not here.
      return { operation: "scim-groups", params, pick: (h) => h.module.discovery.groups };
    case "Users": {
      if (id === undefined) {
        if (m === "GET") return { operation: "scim-users-list", pick: (h) => h.users.list };
        if (m === "POST") return { operation: "scim-users-create", pick: (h) => h.users.create };
        return undefined;
      }
      const byMethod: Partial<Record<Method, [string, (h: Loaded) => Handler]>> = {
        GET: ["scim-users-get", (h) => h.users.get],
        PUT: ["scim-users-replace", (h) => h.users.replace],
        PATCH: ["scim-users-patch", (h) => h.users.patch],
        DELETE: ["scim-users-delete", (h) => h.users.remove],
      };
      const found = byMethod[m];
      return found && { operation: found[0], params, pick: found[1] };
    }
    default:
      return undefined;
  }
}

export async function scimRoutes(app: FastifyInstance, opts: { deps: Deps }) {
  let loaded: Promise<Loaded> | undefined;
  const load = () => {
    loaded ??= import("./handlers.js").then((module) => ({ module, users: module.userHandlers(opts.deps) }));
    return loaded;
  };
  app.route({
    method: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    url: "/scim/v2/*",
    schema: { operationId: "scim" },
    handler: async (req, reply) => {
      const path = (req.params as { "*": string })["*"];
      const found = endpoint(req.method, path);
      // As everywhere in this service, a method a path does not serve is a 404, like a path.
      if (!found) throw new ApiError("not_found", `no SCIM endpoint ${req.method} /scim/v2/${path}`);
      req.operation = found.operation;
      if (found.params) req.params = found.params;
      return found.pick(await load())(req, reply);
    },
  });
}
