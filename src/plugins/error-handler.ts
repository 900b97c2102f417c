// One place writes every error body, in DevRev's shape, whatever threw: a route, a hook, Fastify
// itself, or Node's HTTP parser before any route saw the request.
import { randomUUID } from "node:crypto";
import { type IncomingMessage, maxHeaderSize, type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
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
function frameworkError(err: FastifyError, url = ""): ApiError | undefined {
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError("bad_request", "the request body is larger than 1 MiB");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError(
        "bad_request",
        isScimUrl(url) ? "the request body must be application/scim+json" : "the request body must be application/json",
      );
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

/** SCIM's base path: everything under it speaks SCIM (src/scim), errors included. */
export const SCIM_PREFIX = "/scim/v2";

/** Whether a request target is under SCIM's base path (its query string aside). */
export function isScimUrl(url: string): boolean {
  if (!url.startsWith(SCIM_PREFIX)) return false;
  const next = url.charAt(SCIM_PREFIX.length);
  return next === "" || next === "/" || next === "?";
}

/**
 * Writes an error answer through Fastify: DevRev's body, or under /scim/v2 SCIM's error schema
 * (RFC 7644, section 3.12) as application/scim+json; its status, and Retry-After on a 429.
 */
export function sendError(reply: FastifyReply, api: ApiError): FastifyReply {
  if (api.type === "too_many_requests" && api.fields.retry_after !== undefined) {
    reply.header("retry-after", String(api.fields.retry_after));
  }
  if (isScimUrl(reply.request.url)) {
    return reply.code(api.status).type("application/scim+json; charset=utf-8").send(api.toScimBody());
  }
  return reply.code(api.status).type("application/json; charset=utf-8").send(api.toBody());
}

/**
 * A whole HTTP/1.1 response for a socket no request or reply object exists for: the same body as
 * sendError, and Connection: close, since the bytes after a request that could not be read cannot
 * be trusted to start the next one.
 */
export function rawErrorResponse(api: ApiError): string {
  const { body, headers } = closingAnswer(api);
  let head = `HTTP/1.1 ${api.status} ${STATUS_CODES[api.status]}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n${body}`;
}

/** An error's body and the headers that send it and close the connection after. */
export function closingAnswer(api: ApiError): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(api.toBody());
  return {
    body,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": String(Buffer.byteLength(body)),
      Connection: "close",
    },
  };
}

/** How long a refused connection may go on sending before it is cut. */
const LINGER_MS = 1000;
const answered = new WeakSet<Duplex>();

/**
 * Answers on a raw socket and closes it. The socket is ended (the answer, then FIN), not destroyed
 * at once: closing with unread input makes the kernel send a reset, which can discard the answer
 * before the client reads it (a client still sending an oversized header, say). What the client
 * still sends is read and dropped, for at most LINGER_MS.
 */
function answerOnSocket(socket: Duplex, api: ApiError): void {
  answered.add(socket);
  socket.on("error", () => {});
  socket.end(rawErrorResponse(api));
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}

/** Node's HTTP parser errors (llhttp's codes), told in DevRev's words. */
export function clientErrorToApiError(err: { code?: string }): ApiError {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return new ApiError(
        "request_header_fields_too_large",
        `the request line and headers are larger than ${maxHeaderSize / 1024} KiB`,
      );
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new ApiError("request_timeout", "the request was not received in time");
    case "HPE_INVALID_HEADER_TOKEN":
    case "HPE_LF_EXPECTED":
    case "HPE_CR_EXPECTED":
      return new ApiError(
        "bad_request",
        "a request header is malformed: names are tokens, and values hold no control characters",
      );
    case "HPE_INVALID_URL":
      return new ApiError(
        "bad_request",
        "the request target holds a byte that is not allowed: percent-encode it (UTF-8)",
      );
    case "HPE_INVALID_METHOD":
    case "HPE_INVALID_VERSION":
    case "HPE_INVALID_CONSTANT":
    case "HPE_PAUSED_H2_UPGRADE":
      return new ApiError("bad_request", "the request line is not METHOD /path HTTP/1.1");
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
      return new ApiError(
        "bad_request",
        "the Content-Length header is malformed, repeated, or sent with Transfer-Encoding",
      );
    case "HPE_INVALID_TRANSFER_ENCODING":
    case "HPE_INVALID_CHUNK_SIZE":
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return new ApiError("bad_request", "the chunked request body is malformed");
    default:
      return new ApiError("bad_request", "the request is not valid HTTP/1.1");
  }
}

/**
 * Fastify's `clientErrorHandler`: Node's `clientError`, for what its parser refused (a header
 * block over the limit, control characters, bad bytes in the URL, a broken request line or body
 * framing) and for its request timeouts. No request or reply exists: the answer goes on the socket.
 */
export function answerClientError(this: FastifyInstance, err: Error & { code?: string }, socket: Duplex): void {
  // The parser may report again on bytes that follow: the socket is answered once.
  if (answered.has(socket)) return;
  if (err.code === "ECONNRESET" || socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  // As Node does: an answer already under way on this socket cannot be followed by another.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const api = clientErrorToApiError(err);
  this.log.debug({ err, status: api.status }, "client error");
  answerOnSocket(socket, api);
}

/**
 * Fastify's `frameworkErrors`: a URL whose percent-encoding does not decode (FST_ERR_BAD_URL),
 * before routing. Closes the connection like the parser's refusals.
 */
export function answerFrameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const api = frameworkError(err, req.url) ?? new ApiError("bad_request", "the request cannot be served");
  reply.header("connection", "close");
  sendError(reply, api);
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
    } else api = frameworkError(err, req.url);

    if (!api) {
      const reference_id = randomUUID();
      req.log.error({ err, reference_id }, "unexpected fault");
      api = new ApiError("internal_error", "an unexpected error occurred", { reference_id });
    }
    sendError(reply, api);
  });

  app.setNotFoundHandler((req, reply) => {
    sendError(reply, new ApiError("not_found", `no route ${req.method} ${req.url.split("?")[0]}`));
  });

  // Node answers these itself, with no body, unless told otherwise; here they get DevRev's.
  // An HTTP/1.1 request without Host (RFC 9112 says 400): the server is made with
  // requireHostHeader: false (app.ts) so that the answer is this one.
  app.addHook("onRequest", (req, reply, done) => {
    if (req.headers.host === undefined && req.raw.httpVersionMajor === 1 && req.raw.httpVersionMinor === 1) {
      reply.header("connection", "close");
      done(new ApiError("bad_request", "an HTTP/1.1 request needs a Host header"));
      return;
    }
    done();
  });
  // An Expect other than 100-continue: Node would answer 417 with no body.
  app.server.on("checkExpectation", (_req: IncomingMessage, res: ServerResponse) => {
    const api = new ApiError("bad_request", "the only expectation served is Expect: 100-continue");
    const { body, headers } = closingAnswer(api);
    res.writeHead(api.status, headers).end(body);
  });
  // CONNECT (a tunnel request): Node would drop the connection without a word.
  app.server.on("connect", (req: IncomingMessage, socket: Duplex) => {
    answerOnSocket(socket, new ApiError("not_found", `no route ${req.method} ${req.url}`));
  });
}
