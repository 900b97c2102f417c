// DevRev's auth-tokens.* operations: schema, one service call, return. Request schemas follow the
// shared spec, with the official SDK's additions (expires_in_mins). Scopes are checked by the
// service: whether one is needed depends on which token an operation names.
import type { FastifyInstance, FastifyRequest } from "fastify";
import * as tokens from "../services/auth-tokens.js";
import type { Deps } from "../services/context.js";
import type { KeyRing } from "../services/keys.js";
import { emptyResponse, userSummary, withErrors } from "./schemas.js";

const str = { type: "string", maxLength: 256 } as const;
const obj = (properties: Record<string, unknown>, required: string[] = []) =>
  ({ type: "object", additionalProperties: false, properties, required }) as const;

const createRequest = obj({
  act_as: str,
  aud: { type: "array", maxItems: 8, items: str },
  client_id: str,
  expires_in: { type: "integer" },
  expires_in_mins: { type: "integer" },
  grant_type: str,
  requested_token_type: str,
  rev_info: { type: "object" },
  scope: { type: "string", maxLength: 1024 },
  subject_token: { type: "string", maxLength: 8192 },
  subject_token_type: str,
  token_hint: str,
});
const createResponse = {
  type: "object",
  properties: {
    access_token: { type: "string" },
    expires_in: { type: "integer" },
    token_type: { type: "string" },
    scope: { type: "string" },
  },
  required: ["access_token", "expires_in", "token_type"],
} as const;

const token = {
  type: "object",
  properties: {
    id: { type: "string" },
    created_by: userSummary,
    created_date: { type: "string" },
    modified_by: userSummary,
    modified_date: { type: "string" },
    expires_at: { type: "string" },
    issued_at: { type: "string" },
    requested_token_type: { type: "string" },
    scopes: { type: "array", items: { type: "string" } },
    status: { type: "string" },
    subject: { type: "string" },
    token_hint: { type: "string" },
  },
  required: ["id"],
} as const;
const tokenResponse = { type: "object", properties: { token }, required: ["token"] } as const;
const listResponse = {
  type: "object",
  properties: { tokens: { type: "array", items: token } },
  required: ["tokens"],
} as const;
const byId = obj({ token_id: str }, ["token_id"]);
const listRequest = obj({ client_id: str, requested_token_type: str, subject: str });
const updateRequest = obj({ token_id: str, token_hint: str }, ["token_id", "token_hint"]);
const deleteRequest = obj({ token_id: str });
const selfDeleteRequest = obj({ requested_token_type: str });
const infoRequest = obj({});
const infoResponse = {
  type: "object",
  properties: {
    organization: {
      type: "object",
      properties: { display_id: { type: "string" }, id: { type: "string" }, slug: { type: "string" } },
      required: ["display_id", "id"],
    },
    token: {
      type: "object",
      properties: {
        expiry: { type: "integer" },
        issued_at: { type: "integer" },
        issuer: { type: "string" },
        subject: { type: "string" },
      },
      required: ["expiry", "issued_at", "issuer", "subject"],
    },
    user: {
      type: "object",
      properties: {
        display_id: { type: "string" },
        display_name: { type: "string" },
        email: { type: "string" },
        full_name: { type: "string" },
        id: { type: "string" },
        type: { type: "string" },
      },
      required: ["display_id", "id", "type"],
    },
  },
  required: ["organization", "token", "user"],
} as const;

const caller = (req: FastifyRequest) => req.caller!;

export async function authTokenRoutes(app: FastifyInstance, opts: { deps: Deps; keys: KeyRing }) {
  const { deps, keys } = opts;
  app.post<{ Body: tokens.CreateTokenInput }>(
    "/auth-tokens.create",
    {
      schema: {
        operationId: "auth-tokens-create",
        body: createRequest,
        response: withErrors({ 201: createResponse }, [409]),
      },
    },
    async (req, reply) => {
      reply.code(201);
      return tokens.createAuthToken(deps, keys, caller(req), req.body);
    },
  );
  app.get<{ Querystring: { token_id: string } }>(
    "/auth-tokens.get",
    { schema: { operationId: "auth-tokens-get", querystring: byId, response: withErrors({ 200: tokenResponse }) } },
    async (req) => ({ token: await tokens.getAuthToken(deps, caller(req), req.query.token_id) }),
  );
  app.post<{ Body: { token_id: string } }>(
    "/auth-tokens.get",
    { schema: { operationId: "auth-tokens-get-post", body: byId, response: withErrors({ 200: tokenResponse }) } },
    async (req) => ({ token: await tokens.getAuthToken(deps, caller(req), req.body.token_id) }),
  );
  app.get<{ Querystring: tokens.ListTokensInput }>(
    "/auth-tokens.list",
    {
      schema: {
        operationId: "auth-tokens-list",
        querystring: listRequest,
        response: withErrors({ 200: listResponse }),
      },
    },
    async (req) => ({ tokens: await tokens.listAuthTokens(deps, caller(req), req.query) }),
  );
  app.post<{ Body: tokens.ListTokensInput }>(
    "/auth-tokens.list",
    {
      schema: { operationId: "auth-tokens-list-post", body: listRequest, response: withErrors({ 200: listResponse }) },
    },
    async (req) => ({ tokens: await tokens.listAuthTokens(deps, caller(req), req.body) }),
  );
  app.get(
    "/auth-tokens.info",
    {
      schema: {
        operationId: "auth-tokens-info",
        querystring: infoRequest,
        response: withErrors({ 200: infoResponse }),
      },
    },
    async (req) => tokens.authTokenInfo(caller(req)),
  );
  app.post(
    "/auth-tokens.info",
    {
      schema: { operationId: "auth-tokens-info-post", body: infoRequest, response: withErrors({ 200: infoResponse }) },
    },
    async (req) => tokens.authTokenInfo(caller(req)),
  );
  app.post<{ Body: tokens.UpdateTokenInput }>(
    "/auth-tokens.update",
    {
      schema: { operationId: "auth-tokens-update", body: updateRequest, response: withErrors({ 200: tokenResponse }) },
    },
    async (req) => ({ token: await tokens.updateAuthTokenHint(deps, caller(req), req.body) }),
  );
  app.post<{ Body: { token_id?: string } }>(
    "/auth-tokens.delete",
    {
      schema: { operationId: "auth-tokens-delete", body: deleteRequest, response: withErrors({ 200: emptyResponse }) },
    },
    async (req) => {
      await tokens.deleteAuthToken(deps, caller(req), req.body);
      return {};
    },
  );
  app.post<{ Body: { requested_token_type?: string } }>(
    "/auth-tokens.self.delete",
    {
      schema: {
        operationId: "auth-tokens-self-delete",
        body: selfDeleteRequest,
        response: withErrors({ 200: emptyResponse }),
      },
    },
    async (req) => {
      await tokens.selfDeleteAuthTokens(deps, caller(req), req.body);
      return {};
    },
  );
}
