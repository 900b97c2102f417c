// DevRev's webhooks.* operations: schema, one service call, return. The request schemas follow the
// shared spec, with the official SDK's additions (headers).
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Deps } from "../services/context.js";
import { listWebhookDeliveries, redeliverEvents } from "../services/deliveries.js";
import { EVENT_TYPES } from "../services/webhook-events.js";
import * as webhooks from "../services/webhooks.js";
import { emptyResponse, userSummary, withErrors } from "./schemas.js";

const str = { type: "string" } as const;
const eventType = { type: "string", enum: EVENT_TYPES } as const;
const eventTypes = { type: "array", maxItems: 100, items: eventType } as const;
const header = {
  type: "object",
  additionalProperties: false,
  properties: { name: { type: "string", maxLength: 64 }, value: { type: "string", maxLength: 1024 } },
  required: ["name", "value"],
} as const;
const headerList = { type: "array", maxItems: 8, items: header } as const;
const url = { type: "string", maxLength: 2048 } as const;
const secret = { type: "string", maxLength: 64 } as const;
const byId = { type: "object", additionalProperties: false, properties: { id: str }, required: ["id"] } as const;

const createRequest = {
  type: "object",
  additionalProperties: false,
  properties: { url, secret, event_types: eventTypes, headers: headerList },
  required: ["url"],
} as const;

const updateRequest = {
  type: "object",
  additionalProperties: false,
  properties: {
    id: str,
    action: { type: "string", enum: ["activate", "deactivate"] },
    url,
    secret,
    event_types: {
      type: "object",
      additionalProperties: false,
      properties: { add: eventTypes, remove: eventTypes, set: eventTypes },
    },
    headers: {
      type: "object",
      additionalProperties: false,
      properties: { add: headerList, remove: { type: "array", maxItems: 8, items: str }, set: headerList },
    },
  },
  required: ["id"],
} as const;

export const webhook = {
  type: "object",
  properties: {
    id: str,
    created_by: userSummary,
    created_date: str,
    modified_by: userSummary,
    modified_date: str,
    event_types: { type: "array", items: str },
    headers: { type: "array", items: { type: "object", properties: { name: str, value: str } } },
    secret: str,
    status: str,
    url: str,
  },
  required: ["id", "secret", "status", "url"],
} as const;

const webhookResponse = { type: "object", properties: { webhook }, required: ["webhook"] } as const;
const listResponse = {
  type: "object",
  properties: { webhooks: { type: "array", items: webhook } },
  required: ["webhooks"],
} as const;
const listRequest = { type: "object", additionalProperties: false, properties: {} } as const;

const deliveryListRequest = {
  type: "object",
  additionalProperties: false,
  properties: { webhook: str, cursor: str, limit: { type: "integer" } },
  required: ["webhook"],
} as const;
const delivery = {
  type: "object",
  properties: {
    event_id: str,
    type: str,
    state: str,
    attempts: { type: "integer" },
    created_date: str,
    next_attempt_date: str,
    delivered_date: str,
    last_status: { type: "integer" },
    last_error: str,
    last_latency_ms: { type: "integer" },
  },
  required: ["event_id", "type", "state", "attempts", "created_date"],
} as const;
const deliveryListResponse = {
  type: "object",
  properties: {
    deliveries: { type: "array", items: delivery },
    next_cursor: str,
    health: {
      type: "object",
      properties: { consecutive_failures: { type: "integer" }, failing_since: str, last_error: str },
      required: ["consecutive_failures"],
    },
  },
  required: ["deliveries", "health"],
} as const;
const redeliverRequest = {
  type: "object",
  additionalProperties: false,
  properties: {
    webhook: str,
    event_id: str,
    from: { type: "string", maxLength: 64 },
    to: { type: "string", maxLength: 64 },
  },
  required: ["webhook"],
} as const;
const redeliverResponse = {
  type: "object",
  properties: { redelivered: { type: "integer" } },
  required: ["redelivered"],
} as const;

const caller = (req: FastifyRequest) => req.caller!;

export async function webhookRoutes(app: FastifyInstance, opts: { deps: Deps }) {
  const { deps } = opts;
  app.post<{ Body: webhooks.CreateWebhookInput }>(
    "/webhooks.create",
    { schema: { operationId: "webhooks-create", body: createRequest, response: withErrors({ 201: webhookResponse }) } },
    async (req, reply) => {
      reply.code(201);
      return { webhook: await webhooks.createWebhook(deps, caller(req), req.body) };
    },
  );
  app.get<{ Querystring: { id: string } }>(
    "/webhooks.get",
    { schema: { operationId: "webhooks-get", querystring: byId, response: withErrors({ 200: webhookResponse }) } },
    async (req) => ({ webhook: await webhooks.getWebhook(deps, caller(req), req.query.id) }),
  );
  app.post<{ Body: { id: string } }>(
    "/webhooks.get",
    { schema: { operationId: "webhooks-get-post", body: byId, response: withErrors({ 200: webhookResponse }) } },
    async (req) => ({ webhook: await webhooks.getWebhook(deps, caller(req), req.body.id) }),
  );
  app.get(
    "/webhooks.list",
    { schema: { operationId: "webhooks-list", querystring: listRequest, response: withErrors({ 200: listResponse }) } },
    async (req) => ({ webhooks: await webhooks.listOrgWebhooks(deps, caller(req)) }),
  );
  app.post(
    "/webhooks.list",
    { schema: { operationId: "webhooks-list-post", body: listRequest, response: withErrors({ 200: listResponse }) } },
    async (req) => ({ webhooks: await webhooks.listOrgWebhooks(deps, caller(req)) }),
  );
  app.post<{ Body: webhooks.UpdateWebhookInput }>(
    "/webhooks.update",
    { schema: { operationId: "webhooks-update", body: updateRequest, response: withErrors({ 200: webhookResponse }) } },
    async (req) => ({ webhook: await webhooks.updateWebhookById(deps, caller(req), req.body) }),
  );
  type DeliveryList = { webhook: string; cursor?: string; limit?: number };
  app.get<{ Querystring: DeliveryList }>(
    "/webhooks.deliveries.list",
    {
      preValidation: async (req) => {
        const q = req.query as Record<string, unknown>;
        if (typeof q.limit === "string" && /^-?\d+$/.test(q.limit)) q.limit = Number(q.limit);
      },
      schema: {
        operationId: "webhooks-deliveries-list",
        querystring: deliveryListRequest,
        response: withErrors({ 200: deliveryListResponse }),
      },
    },
    async (req) => listWebhookDeliveries(deps, caller(req), req.query),
  );
  app.post<{ Body: DeliveryList }>(
    "/webhooks.deliveries.list",
    {
      schema: {
        operationId: "webhooks-deliveries-list-post",
        body: deliveryListRequest,
        response: withErrors({ 200: deliveryListResponse }),
      },
    },
    async (req) => listWebhookDeliveries(deps, caller(req), req.body),
  );
  app.post<{ Body: { webhook: string; event_id?: string; from?: string; to?: string } }>(
    "/webhooks.deliveries.redeliver",
    {
      schema: {
        operationId: "webhooks-deliveries-redeliver",
        body: redeliverRequest,
        response: withErrors({ 200: redeliverResponse }),
      },
    },
    async (req) => ({ redelivered: await redeliverEvents(deps, caller(req), req.body) }),
  );
  app.post<{ Body: { id: string } }>(
    "/webhooks.delete",
    { schema: { operationId: "webhooks-delete", body: byId, response: withErrors({ 200: emptyResponse }) } },
    async (req) => {
      await webhooks.deleteWebhookById(deps, caller(req), req.body.id);
      return {};
    },
  );
}
