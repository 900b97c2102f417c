// SCIM 2.0 (RFC 7643, RFC 7644) under /scim/v2, for identity providers (Okta, Microsoft Entra ID)
// provisioning an org's users. Every route takes a SCIM connection's token and nothing else
// (app.ts, services/scim-connections.ts); errors are SCIM's (plugins/error-handler.ts). The
// handlers, the filter parser and the PATCH code are loaded on the first SCIM request: a service
// that never sees one never pays for them at start.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Deps } from "../services/context.js";

type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;
type Handlers = typeof import("./handlers.js");

export async function scimRoutes(app: FastifyInstance, opts: { deps: Deps }) {
  let loaded: Promise<{ module: Handlers; users: ReturnType<Handlers["userHandlers"]> }> | undefined;
  const load = () => {
    loaded ??= import("./handlers.js").then((module) => ({ module, users: module.userHandlers(opts.deps) }));
    return loaded;
  };
  const route = (
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    url: string,
    operationId: string,
    pick: (h: Awaited<ReturnType<typeof load>>) => Handler,
  ) =>
    app.route({
      method,
      url: `/scim/v2${url}`,
      schema: { operationId },
      handler: async (req, reply) => pick(await load())(req, reply),
    });

  route(
    "GET",
    "/ServiceProviderConfig",
    "scim-service-provider-config",
    (h) => h.module.discovery.serviceProviderConfig,
  );
  route("GET", "/Schemas", "scim-schemas", (h) => h.module.discovery.schemas);
  route("GET", "/Schemas/:id", "scim-schema", (h) => h.module.discovery.schema);
  route("GET", "/ResourceTypes", "scim-resource-types", (h) => h.module.discovery.resourceTypes);
  route("GET", "/ResourceTypes/:id", "scim-resource-type", (h) => h.module.discovery.resourceType);
  route("GET", "/Users", "scim-users-list", (h) => h.users.list);
  route("POST", "/Users", "scim-users-create", (h) => h.users.create);
  route("GET", "/Users/:id", "scim-users-get", (h) => h.users.get);
  route("PUT", "/Users/:id", "scim-users-replace", (h) => h.users.replace);
  route("PATCH", "/Users/:id", "scim-users-patch", (h) => h.users.patch);
  route("DELETE", "/Users/:id", "scim-users-delete", (h) => h.users.remove);
  // Named, so a provider that tries Groups learns why they are not here.
  for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"] as const) {
    route(method, "/Groups", "scim-groups", (h) => h.module.discovery.groups);
    route(method, "/Groups/:id", "scim-groups", (h) => h.module.discovery.groups);
  }
}
