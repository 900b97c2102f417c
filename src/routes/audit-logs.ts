// The audit log: audit-logs.list (ours, synchronous and paged) and DevRev's beta audit-logs.fetch.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { assertThat, valueNotPermitted } from "../errors.js";
import { type AuditListInput, CATEGORIES, listAuditLog, OPERATION_NAMES, OPERATION_TYPES } from "../services/audit.js";
import type { Deps } from "../services/context.js";
import { requireAdmin } from "../services/policy.js";
import { splitList } from "./query.js";
import { emptyResponse, withErrors } from "./schemas.js";

const str = { type: "string" } as const;
const dateTime = { type: "string", maxLength: 64 } as const;
const list = (items: unknown) => ({ type: "array", maxItems: 100, items }) as const;
const userRef = {
  type: "object",
  properties: { type: str, id: str, display_id: str },
  required: ["type"],
} as const;
const anything = {} as const;

const listRequest = {
  type: "object",
  additionalProperties: false,
  properties: {
    object: str,
    actor: str,
    operation: list({ type: "string", enum: OPERATION_NAMES }),
    operation_types: list({ type: "string", enum: OPERATION_TYPES }),
    categories: list({ type: "string", enum: CATEGORIES }),
    from: dateTime,
    to: dateTime,
    cursor: str,
    limit: { type: "integer" },
    mode: { type: "string", enum: ["after", "before"] },
  },
} as const;

export const auditEntry = {
  type: "object",
  properties: {
    id: str,
    seq: { type: "integer" },
    timestamp: str,
    operation: str,
    operation_type: str,
    actor: userRef,
    object: userRef,
    related_object: userRef,
    before: anything,
    after: anything,
    details: { type: "object", additionalProperties: true },
    request_id: str,
  },
  required: ["id", "seq", "timestamp", "operation", "operation_type", "actor", "object"],
} as const;

const listResponse = {
  type: "object",
  properties: { audit_logs: { type: "array", items: auditEntry }, next_cursor: str, prev_cursor: str },
  required: ["audit_logs"],
} as const;

/** DevRev's export-audit-logs-request, as the beta spec has it. */
const fetchRequest = {
  type: "object",
  additionalProperties: false,
  properties: {
    categories: list(str),
    from: { type: "string", format: "date-time" },
    to: { type: "string", format: "date-time" },
    operation_types: list({ type: "string", enum: OPERATION_TYPES }),
  },
  required: ["from", "to"],
} as const;

const ARRAYS = new Set(["operation", "operation_types", "categories"]);

function queryToBody(req: FastifyRequest) {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(req.query as Record<string, unknown>)) {
    if (ARRAYS.has(key)) body[key] = splitList(value);
    else if (key === "limit" && typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)) body.limit = Number(value);
    else body[key] = value;
  }
  req.query = body;
}

export async function auditLogRoutes(app: FastifyInstance, opts: { deps: Deps }) {
  const { deps } = opts;
  const schema = (operationId: string, part: "querystring" | "body") => ({
    operationId,
    [part]: listRequest,
    response: withErrors({ 200: listResponse }),
  });
  app.get<{ Querystring: AuditListInput }>(
    "/audit-logs.list",
    { preValidation: async (req) => queryToBody(req), schema: schema("audit-logs-list", "querystring") },
    async (req) => listAuditLog(deps, req.caller!, req.query),
  );
  app.post<{ Body: AuditListInput }>(
    "/audit-logs.list",
    { schema: schema("audit-logs-list-post", "body") },
    async (req) => listAuditLog(deps, req.caller!, req.body),
  );
  // DevRev exports asynchronously and answers {}; the entries are audit-logs.list's, which takes
  // the same filters (from, to, categories, operation_types).
  app.post<{ Body: { from: string; to: string } }>(
    "/audit-logs.fetch",
    { schema: { operationId: "export-audit-logs", body: fetchRequest, response: withErrors({ 200: emptyResponse }) } },
    async (req) => {
      requireAdmin(req.caller!);
      assertThat(
        Date.parse(req.body.to) >= Date.parse(req.body.from),
        valueNotPermitted("to", "must not be before from"),
      );
      return {};
    },
  );
}
