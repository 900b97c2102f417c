// scim-connections.*: an org's SCIM 2.0 connections, one per identity provider (ours, named in
// DevRev's style, beside webhooks.*). Admin-only; schema, one service call, return.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Deps } from "../services/context.js";
import * as connections from "../services/scim-connections.js";
import { emptyResponse, userSummary, withErrors } from "./schemas.js";

const str = { type: "string", maxLength: 256 } as const;
const role = { type: "string", enum: ["admin", "member"] } as const;
const bool = { type: "boolean" } as const;
const obj = (properties: Record<string, unknown>, required: string[] = []) =>
  ({ type: "object", additionalProperties: false, properties, required }) as const;

const createRequest = obj(
  { issuer: { type: "string", maxLength: connections.MAX_ISSUER_LENGTH }, default_role: role, enabled: bool },
  ["issuer"],
);
const updateRequest = obj({ id: str, default_role: role, enabled: bool, rotate_token: bool, revoke_token: bool }, [
  "id",
]);
const byId = obj({ id: str }, ["id"]);
const listRequest = obj({});

export const scimConnection = {
  type: "object",
  properties: {
    id: { type: "string" },
    issuer: { type: "string" },
    default_role: { type: "string" },
    enabled: bool,
    token_status: { type: "string", enum: ["active", "revoked"] },
    token_issued_date: { type: "string" },
    created_by: userSummary,
    created_date: { type: "string" },
    modified_by: userSummary,
    modified_date: { type: "string" },
  },
  required: ["id", "issuer", "default_role", "enabled", "token_status", "created_date", "modified_date"],
} as const;

/** `token` only when one was just made: the one time it is shown. */
const withToken = {
  type: "object",
  properties: { scim_connection: scimConnection, token: { type: "string" } },
  required: ["scim_connection"],
} as const;
const oneResponse = {
  type: "object",
  properties: { scim_connection: scimConnection },
  required: ["scim_connection"],
} as const;
const listResponse = {
  type: "object",
  properties: { scim_connections: { type: "array", items: scimConnection } },
  required: ["scim_connections"],
} as const;

const caller = (req: FastifyRequest) => req.caller!;

export async function scimConnectionRoutes(app: FastifyInstance, opts: { deps: Deps }) {
  const { deps } = opts;
  app.post<{ Body: connections.CreateScimConnectionInput }>(
    "/scim-connections.create",
    {
      schema: {
        operationId: "scim-connections-create",
        body: createRequest,
        response: withErrors({ 201: withToken }, [409]),
      },
    },
    async (req, reply) => {
      reply.code(201);
      return connections.createScimConnection(deps, caller(req), req.body);
    },
  );
  app.get<{ Querystring: { id: string } }>(
    "/scim-connections.get",
    { schema: { operationId: "scim-connections-get", querystring: byId, response: withErrors({ 200: oneResponse }) } },
    async (req) => ({ scim_connection: await connections.getScimConnection(deps, caller(req), req.query.id) }),
  );
  app.post<{ Body: { id: string } }>(
    "/scim-connections.get",
    { schema: { operationId: "scim-connections-get-post", body: byId, response: withErrors({ 200: oneResponse }) } },
    async (req) => ({ scim_connection: await connections.getScimConnection(deps, caller(req), req.body.id) }),
  );
  app.get(
    "/scim-connections.list",
    {
      schema: {
        operationId: "scim-connections-list",
        querystring: listRequest,
        response: withErrors({ 200: listResponse }),
      },
    },
    async (req) => ({ scim_connections: await connections.listScimConnectionsOf(deps, caller(req)) }),
  );
  app.post(
    "/scim-connections.list",
    {
      schema: {
        operationId: "scim-connections-list-post",
        body: listRequest,
        response: withErrors({ 200: listResponse }),
      },
    },
    async (req) => ({ scim_connections: await connections.listScimConnectionsOf(deps, caller(req)) }),
  );
  app.post<{ Body: connections.UpdateScimConnectionInput }>(
    "/scim-connections.update",
    {
      schema: { operationId: "scim-connections-update", body: updateRequest, response: withErrors({ 200: withToken }) },
    },
    async (req) => connections.updateScimConnectionById(deps, caller(req), req.body),
  );
  app.post<{ Body: { id: string } }>(
    "/scim-connections.delete",
    { schema: { operationId: "scim-connections-delete", body: byId, response: withErrors({ 200: emptyResponse }) } },
    async (req) => {
      await connections.deleteScimConnectionById(deps, caller(req), req.body.id);
      return {};
    },
  );
}
