// One attempt: POST the body to the webhook's URL, signed, within the time limit, to an address
// the policy allows (checked after DNS resolution; redirects are not followed).
import { createHmac } from "node:crypto";
import http from "node:http";
import type https from "node:https";
import { createRequire } from "node:module";
import { assertTargetAllowed, BlockedTarget, guardedLookup } from "../services/webhook-url.js";
import { version } from "../version.js";

export interface Attempt {
  ok: boolean;
  status: number | null;
  error: string | null;
  latencyMs: number;
  /** The answer's body, up to 64 KiB (the verify handshake reads it). */
  body: string;
}

const MAX_ANSWER = 64 * 1024;

// node:https, and TLS with it, loads with the first https delivery: at module load it cost every
// start about 5 ms, for a service that may never deliver anything.
const require = createRequire(import.meta.url);
const httpsModule = () => require("node:https") as typeof https;

/** Keep-alive agents, made on first use. */
type Agents = { "http:"?: http.Agent; "https:"?: https.Agent };

/** X-DevRev-Signature: HMAC-SHA256 of the raw body, keyed by the secret as given, in lowercase hex. */
export const signature = (secret: string, body: string) => createHmac("sha256", secret).update(body).digest("hex");

export interface Target {
  url: string;
  secret: string;
  headers: { name: string; value: string }[];
}

export interface Sender {
  send(target: Target, body: string): Promise<Attempt>;
  /** Ends the keep-alive connections. */
  close(): void;
}

/** A sender with its own keep-alive connections, owned by one worker. */
export function createSender(options: SenderOptions): Sender {
  const agents: Agents = {};
  return {
    send: (target, body) => send(agents, target, body, options),
    close: () => {
      agents["http:"]?.destroy();
      agents["https:"]?.destroy();
    },
  };
}

interface SenderOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Sockets per protocol: as many as attempts in flight, so a request never waits for one. */
  maxSockets: number;
}

function send(agents: Agents, target: Target, body: string, options: SenderOptions): Promise<Attempt> {
  const started = performance.now();
  const done = (status: number | null, error: string | null, answer = ""): Attempt => ({
    ok: error === null && status !== null && status >= 200 && status < 300,
    status,
    error,
    latencyMs: Math.round(performance.now() - started),
    body: answer,
  });
  return new Promise((resolve) => {
    let url: URL;
    try {
      assertTargetAllowed(target.url, options.allowPrivate);
      url = new URL(target.url);
    } catch (err) {
      return resolve(done(null, (err as Error).message));
    }
    const lib = url.protocol === "https:" ? httpsModule() : http;
    const headers: Record<string, string> = {};
    for (const h of target.headers) headers[h.name] = h.value;
    Object.assign(headers, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      "user-agent": `devusers/${version}`,
      "x-devrev-signature": signature(target.secret, body),
    });
    let req: http.ClientRequest;
    try {
      req = request(lib, url, headers, agents, options);
    } catch (err) {
      // Node refuses some headers or URLs only here: a failed attempt, never a thrown round.
      return resolve(done(null, (err as Error).message));
    }
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ANSWER) chunks.push(c);
      });
      res.on("end", () => {
        clearTimeout(timer);
        const status = res.statusCode ?? null;
        const answer = Buffer.concat(chunks).toString("utf8");
        if (status !== null && status >= 300 && status < 400) {
          return resolve(done(status, `answered ${status}: redirects are not followed`));
        }
        if (status !== null && (status < 200 || status >= 300))
          return resolve(done(status, `answered ${status}`, answer));
        resolve(done(status, null, answer));
      });
      res.on("error", (err) => {
        clearTimeout(timer);
        resolve(done(res.statusCode ?? null, err.message));
      });
    });
    req.on("error", (err) => {
      clearTimeout(timer);
      resolve(done(null, err instanceof BlockedTarget ? `refused: ${err.message}` : err.message));
    });
    req.end(body);
  });
}

function request(
  lib: typeof http | typeof https,
  url: URL,
  headers: Record<string, string>,
  agents: Agents,
  options: SenderOptions,
): http.ClientRequest {
  const protocol = url.protocol as "http:" | "https:";
  agents[protocol] ??= new lib.Agent({ keepAlive: true, maxSockets: options.maxSockets }) as http.Agent & https.Agent;
  const agent = agents[protocol];
  return lib.request(url, {
    method: "POST",
    headers,
    agent,
    lookup: guardedLookup(options.allowPrivate) as never,
  });
}
