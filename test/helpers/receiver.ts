// A real HTTP receiver for webhook tests: answers the verify handshake (or not), records every
// delivery with its raw body and headers, and can be told to fail.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  body: string;
  json: any;
  headers: IncomingHttpHeaders;
  /** The status the receiver answered with. */
  answered: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Object events (everything but verify). */
  events(): any[];
  /** Answer verify events with the challenge (default true). */
  echo: boolean;
  /** Answer object events with this status (default 200). */
  status: number;
  waitFor(ok: () => boolean, what: string, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** `port`: listen where an earlier receiver did, so its webhooks find this one (0: a free port). */
export async function startReceiver(port = 0): Promise<Receiver> {
  const r: Receiver = {
    url: "",
    received: [],
    echo: true,
    status: 200,
    events: () => r.received.filter((x) => x.json.type !== "verify").map((x) => x.json),
    waitFor: async (ok, what, ms = 10_000) => {
      const until = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}; received ${r.received.length}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const json = JSON.parse(body);
      r.received.push({ body, json, headers: req.headers, answered: json.type === "verify" ? 200 : r.status });
      if (json.type === "verify") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ challenge: r.echo ? json.verify.challenge : "wrong" }));
        return;
      }
      res.writeHead(r.status, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((res) => server.listen(port, "127.0.0.1", () => res()));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  server.closeAllConnections?.();
  const close = r.close;
  r.close = async () => {
    server.closeAllConnections();
    await close();
  };
  return r;
}
