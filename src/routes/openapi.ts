// GET /openapi.json: an OpenAPI 3 description built from the schemas the routes really use.
import type { FastifyInstance, RouteOptions } from "fastify";

interface Collected {
  method: string;
  url: string;
  schema: Record<string, unknown>;
}

const STATUS_TEXT: Record<string, string> = {
  "200": "OK",
  "201": "Created",
  "400": "Bad Request",
  "401": "Unauthorized",
  "403": "Forbidden",
  "404": "Not Found",
  "409": "Conflict",
  "429": "Too Many Requests",
  "500": "Internal Server Error",
  "503": "Service Unavailable",
};

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  required?: string[];
}

/**
 * The query parameters of a GET, named as `routes/query.ts` reads them, and as DevRev's spec names
 * them: an object's fields, and those of an array of objects (one item only), are dotted
 * parameters (`created_date.after`, `external_identity.issuer`); other arrays are one parameter,
 * comma-separated (`explode: false`). Free-form objects (`custom_fields`) cannot be sent in a query.
 */
function queryParameters(schema: JsonSchema) {
  const params: Record<string, unknown>[] = [];
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const fields = s.type === "object" ? s : s.type === "array" && s.items?.type === "object" ? s.items : undefined;
    if (fields) {
      for (const [field, fieldSchema] of Object.entries(fields.properties ?? {})) {
        params.push({ name: `${name}.${field}`, in: "query", required: false, schema: fieldSchema });
      }
      continue;
    }
    const required = schema.required?.includes(name) ?? false;
    params.push({ name, in: "query", required, ...(s.type === "array" ? { explode: false } : {}), schema: s });
  }
  return params;
}

export function collectRoutes(app: FastifyInstance): Collected[] {
  const routes: Collected[] = [];
  app.addHook("onRoute", (route: RouteOptions) => {
    const schema = route.schema as Record<string, unknown> | undefined;
    // SCIM describes itself, in its own terms (/scim/v2/Schemas and the rest, RFC 7644 section 4).
    if (!schema?.operationId || route.url.startsWith("/scim/")) return;
    for (const method of [route.method].flat()) {
      if (method === "HEAD") continue;
      routes.push({ method: method.toLowerCase(), url: route.url, schema });
    }
  });
  return routes;
}

export async function openapiRoute(app: FastifyInstance, opts: { routes: Collected[]; version: string }) {
  let doc: unknown;
  app.get("/openapi.json", { config: { public: true } }, async () => {
    doc ??= build(opts.routes, opts.version);
    return doc;
  });
  // Someone who opens the service's address in a browser, or curls it, learns where to go.
  app.get("/", { config: { public: true } }, async () => ({
    service: "devusers",
    version: opts.version,
    description: "DevRev's Dev users API, self-hosted",
    api: "/openapi.json",
    console: "/console/",
    health: { liveness: "/healthz", readiness: "/readyz", metrics: "/metrics" },
  }));
}

function build(routes: Collected[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries((r.schema.response ?? {}) as Record<string, unknown>)) {
      responses[status] = { description: STATUS_TEXT[status] ?? status, content: { "application/json": { schema } } };
    }
    const op: Record<string, unknown> = {
      operationId: r.schema.operationId,
      responses,
      security: [{ "auth-token": [] }],
    };
    if (r.schema.body) op.requestBody = { required: true, content: { "application/json": { schema: r.schema.body } } };
    if (r.schema.querystring) op.parameters = queryParameters(r.schema.querystring as never);
    paths[r.url] ??= {};
    paths[r.url]![r.method] = op;
  }
  return {
    openapi: "3.0.3",
    info: { title: "devusers: DevRev Dev users API", version },
    components: {
      securitySchemes: {
        "auth-token": { type: "http", scheme: "bearer", description: "`Bearer <token>` or the bare token" },
      },
    },
    paths,
  };
}
