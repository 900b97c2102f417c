// The eleven Dev users operations: schema, one service call, return.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Deps } from "../services/context.js";
import * as users from "../services/dev-users.js";
import * as identities from "../services/identities.js";
import { type ListInput, listUsers } from "../services/list.js";
import { listQueryToBody } from "./query.js";
import { activateResponse, devUserResponse, emptyResponse, listResponse, requests, withErrors } from "./schemas.js";

const caller = (req: FastifyRequest) => req.caller!;

export async function devUsersRoutes(app: FastifyInstance, opts: { deps: Deps }) {
  const { deps } = opts;
  const toBody = async (req: FastifyRequest) => {
    req.query = listQueryToBody(req.query as Record<string, unknown>);
  };

  app.post<{ Body: users.CreateInput }>(
    "/dev-users.create",
    {
      schema: {
        operationId: "dev-users-create",
        body: requests.create,
        response: withErrors({ 201: devUserResponse }, [409]),
      },
    },
    async (req, reply) => {
      reply.code(201);
      return { dev_user: await users.createDevUser(deps, caller(req), req.body) };
    },
  );

  app.get<{ Querystring: { id: string } }>(
    "/dev-users.get",
    {
      schema: {
        operationId: "dev-users-get",
        querystring: requests.byId,
        response: withErrors({ 200: devUserResponse }),
      },
    },
    async (req) => ({ dev_user: await users.getDevUser(deps, caller(req), req.query.id) }),
  );
  app.post<{ Body: { id: string } }>(
    "/dev-users.get",
    {
      schema: {
        operationId: "dev-users-get-post",
        body: requests.byId,
        response: withErrors({ 200: devUserResponse }),
      },
    },
    async (req) => ({ dev_user: await users.getDevUser(deps, caller(req), req.body.id) }),
  );

  app.get<{ Querystring: ListInput }>(
    "/dev-users.list",
    {
      preValidation: toBody,
      schema: {
        operationId: "dev-users-list",
        querystring: requests.list,
        response: withErrors({ 200: listResponse }),
      },
    },
    async (req) => listUsers(deps, caller(req), req.query),
  );
  app.post<{ Body: ListInput }>(
    "/dev-users.list",
    {
      schema: { operationId: "dev-users-list-post", body: requests.list, response: withErrors({ 200: listResponse }) },
    },
    async (req) => listUsers(deps, caller(req), req.body),
  );

  app.post<{ Body: users.UpdateInput }>(
    "/dev-users.update",
    {
      schema: {
        operationId: "dev-users-update",
        body: requests.update,
        response: withErrors({ 200: devUserResponse }),
      },
    },
    async (req) => ({ dev_user: await users.updateDevUserById(deps, caller(req), req.body) }),
  );

  app.get(
    "/dev-users.self",
    { schema: { operationId: "dev-users-self", response: withErrors({ 200: devUserResponse }) } },
    async (req) => ({ dev_user: await users.getSelf(deps, caller(req)) }),
  );
  app.post(
    "/dev-users.self",
    {
      schema: {
        operationId: "dev-users-self-post",
        body: requests.self,
        response: withErrors({ 200: devUserResponse }),
      },
    },
    async (req) => ({ dev_user: await users.getSelf(deps, caller(req)) }),
  );

  app.post<{ Body: users.UpdateFields }>(
    "/dev-users.self.update",
    {
      schema: {
        operationId: "dev-users-self-update",
        body: requests.selfUpdate,
        response: withErrors({ 200: devUserResponse }),
      },
    },
    async (req) => ({ dev_user: await users.updateSelf(deps, caller(req), req.body) }),
  );

  app.post<{ Body: { id: string; groups?: string[] } }>(
    "/dev-users.activate",
    {
      schema: {
        operationId: "dev-users-activate",
        body: requests.activate,
        response: withErrors({ 200: activateResponse }),
      },
    },
    async (req) => {
      await users.activateDevUser(deps, caller(req), req.body.id);
      return { invite_sent: false };
    },
  );

  app.post<{ Body: { id: string } }>(
    "/dev-users.deactivate",
    {
      schema: {
        operationId: "dev-users-deactivate",
        body: requests.byId,
        response: withErrors({ 200: emptyResponse }),
      },
    },
    async (req) => {
      await users.deactivateDevUser(deps, caller(req), req.body.id);
      return {};
    },
  );

  app.post<{ Body: { primary_user: string; secondary_user: string } }>(
    "/dev-users.merge",
    { schema: { operationId: "dev-users-merge", body: requests.merge, response: withErrors({ 200: emptyResponse }) } },
    async (req) => {
      await users.mergeDevUsers(deps, caller(req), req.body.primary_user, req.body.secondary_user);
      return {};
    },
  );

  app.post<{ Body: identities.LinkInput }>(
    "/dev-users.identities.link",
    {
      schema: {
        operationId: "dev-users-identities-link",
        body: requests.link,
        response: withErrors({ 200: devUserResponse }),
      },
    },
    async (req) => ({ dev_user: await identities.linkIdentity(deps, caller(req), req.body) }),
  );

  app.post<{ Body: { dev_user: string; issuer: string } }>(
    "/dev-users.identities.unlink",
    {
      schema: {
        operationId: "dev-users-identities-unlink",
        body: requests.unlink,
        response: withErrors({ 200: devUserResponse }),
      },
    },
    async (req) => ({ dev_user: await identities.unlinkIdentity(deps, caller(req), req.body) }),
  );
}
