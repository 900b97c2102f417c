// One place writes every error body, in DevRev's shape, whatever threw.
import { randomUUID } from "node:crypto";
import type { FastifyError, FastifyInstance } from "fastify";
import { isUnavailable } from "../db/errors.js";
import { ApiError, type JsonType } from "../errors.js";

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  data?: unknown;
}

function jsonType(v: unknown): JsonType {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return "number";
  if (typeof v === "string") return "string";
  return "object";
}

const ajvType = (t: unknown): JsonType =>
  t === "boolean" ? "bool" : t === "integer" ? "number" : ((String(t).split(",")[0] ?? "object") as JsonType);

/** `/job_history/0/location` → `job_history[0].location` */
function fieldPath(instancePath: string, child?: string): string {
  const parts = instancePath.split("/").slice(1);
  if (child !== undefined) parts.push(child);
  let out = "";
  for (const p of parts) {
    const name = p.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(name) ? `[${name}]` : out === "" ? name : `.${name}`;
  }
  return out;
}

export function validationToApiError(e: AjvError): ApiError {
  switch (e.keyword) {
    case "required": {
      const field = fieldPath(e.instancePath, String(e.params.missingProperty));
      return new ApiError("missing_required_field", `${field} is required`, { field_name: field });
    }
    case "additionalProperties": {
      const field = fieldPath(e.instancePath, String(e.params.additionalProperty));
      return new ApiError("invalid_field", `${field} is not a field of this request`, { field_name: field });
    }
    case "type": {
      const field = fieldPath(e.instancePath) || "body";
      const expected = ajvType(e.params.type);
      const actual = jsonType(e.data);
      const integer = e.params.type === "integer" && actual === "number";
      return new ApiError(
        "unexpected_json_type",
        `${field}: expected ${integer ? "an integer" : expected}, got ${integer ? "a fraction" : actual}`,
        { field_name: field, expected, actual },
      );
    }
    case "enum": {
      const field = fieldPath(e.instancePath);
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      return new ApiError("invalid_enum_value", `${field}: "${String(e.data)}" is not one of ${allowed.join(", ")}`, {
        field_name: field,
        allowed_values: allowed,
        value: String(e.data),
      });
    }
    case "maxLength": {
      const field = fieldPath(e.instancePath);
      const reason = `must be at most ${e.params.limit} characters`;
      return new ApiError("value_not_permitted", `${field}: ${reason}`, { field_name: field, reason });
    }
    case "maxItems": {
      const field = fieldPath(e.instancePath) || "body";
      const reason = `must have at most ${e.params.limit} items`;
      return new ApiError("value_not_permitted", `${field}: ${reason}`, { field_name: field, reason });
    }
    default: {
      const field = fieldPath(e.instancePath) || "body";
      const reason = `must satisfy ${e.keyword} ${JSON.stringify(e.params)}`;
      return new ApiError("value_not_permitted", `${field}: ${reason}`, { field_name: field, reason });
    }
  }
}

/** Fastify's own 4xx errors, told in DevRev's words. */
function frameworkError(err: FastifyError): ApiError | undefined {
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError("bad_request", "the request body is larger than 1 MiB");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError("bad_request", "the request body must be application/json");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ApiError("bad_request", "the Content-Length header does not match the body");
    default:
      if (err instanceof SyntaxError) return new ApiError("parse_error", "the request body is not valid JSON");
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
        return new ApiError(err.statusCode === 404 ? "not_found" : "bad_request", err.message);
      }
      return undefined;
  }
}

export function registerErrorHandling(app: FastifyInstance, onUnavailable: () => void) {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let api: ApiError | undefined;
    if (err instanceof ApiError) api = err;
    else if (err.validation?.[0]) api = validationToApiError(err.validation[0] as unknown as AjvError);
    else if (isUnavailable(err)) {
      onUnavailable();
      req.log.warn({ err }, "database unavailable");
      api = new ApiError("service_unavailable", "the database is unavailable; retry shortly");
    } else api = frameworkError(err);

    if (!api) {
      const reference_id = randomUUID();
      req.log.error({ err, reference_id }, "unexpected fault");
      api = new ApiError("internal_error", "an unexpected error occurred", { reference_id });
    }
    if (api.type === "too_many_requests" && api.fields.retry_after !== undefined) {
      reply.header("retry-after", String(api.fields.retry_after));
    }
    reply.code(api.status).type("application/json; charset=utf-8").send(api.toBody());
  });

  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .type("application/json; charset=utf-8")
      .send(new ApiError("not_found", `no route ${req.method} ${req.url.split("?")[0]}`).toBody());
  });
}
