// SCIM as an identity provider speaks it: raw HTTP under /scim/v2 with a connection's token, and
// the connection made the way an admin makes one (scim-connections.create).
import assert from "node:assert/strict";
import type { HttpResult, TestServer } from "./server.js";

export const CORE = "urn:ietf:params:scim:schemas:core:2.0:User";
export const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
export const ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";

export interface Connection {
  id: string;
  issuer: string;
  token: string;
}

/** A SCIM connection of the server's org, made by its admin through the API. */
export async function connect(
  s: TestServer,
  issuer: string,
  o: { token?: string; default_role?: "admin" | "member" } = {},
): Promise<Connection> {
  const res = await s.http("POST", "/scim-connections.create", {
    token: o.token,
    body: { issuer, ...(o.default_role ? { default_role: o.default_role } : {}) },
  });
  assert.equal(res.status, 201, res.text);
  return { id: res.body.scim_connection.id, issuer, token: res.body.token };
}

export type Scim = (
  method: string,
  path: string,
  body?: unknown,
  o?: { token?: string | null; headers?: Record<string, string>; raw?: string },
) => Promise<HttpResult>;

/** Requests under /scim/v2 with the connection's token, bodies as application/scim+json. */
export function scimClient(s: TestServer, c: Connection): Scim {
  return (method, path, body, o = {}) =>
    s.http(method, `/scim/v2${path}`, {
      body,
      raw: o.raw,
      token: o.token === undefined ? c.token : o.token,
      headers: {
        ...(body !== undefined || o.raw !== undefined ? { "content-type": "application/scim+json" } : {}),
        ...o.headers,
      },
    });
}

/** `filter=` as a provider sends it. */
export const filter = (text: string) => `filter=${encodeURIComponent(text)}`;

/** Asserts a SCIM error: status, media type, schema, status as a string, scimType, detail. */
export function assertScimError(res: HttpResult, status: number, scimType?: string, detail?: RegExp): void {
  const what = `${res.status} ${res.text}`;
  assert.equal(res.status, status, what);
  assert.match(res.headers.get("content-type") ?? "", /^application\/scim\+json/, what);
  assert.deepEqual(res.body.schemas, [ERROR], what);
  assert.equal(res.body.status, String(status), what);
  assert.equal(res.body.scimType, scimType, what);
  assert.equal(typeof res.body.detail, "string", what);
  if (detail) assert.match(res.body.detail, detail, what);
}

/** A User resource as Okta's create sends one. */
export function oktaUser(email: string, given: string, family: string, externalId: string) {
  return {
    schemas: [CORE],
    userName: email,
    name: { givenName: given, familyName: family },
    emails: [{ primary: true, value: email, type: "work" }],
    displayName: `${given} ${family}`,
    locale: "en-US",
    externalId,
    groups: [],
    password: "not-kept-1!",
    active: true,
  };
}

/** A User resource as Entra's create sends one. */
export function entraUser(upn: string, given: string, family: string, externalId: string) {
  return {
    schemas: [CORE, ENTERPRISE],
    externalId,
    userName: upn,
    active: true,
    displayName: `${given} ${family}`,
    emails: [{ primary: true, type: "work", value: upn }],
    meta: { resourceType: "User" },
    name: { formatted: `${given} ${family}`, familyName: family, givenName: given },
    title: "Engineer",
    [ENTERPRISE]: { department: "Research", employeeNumber: "E-1" },
    roles: [],
  };
}
