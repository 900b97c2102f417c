// npm run bench -- --webhooks N: N creates through the API, each an event for one webhook on a
// local receiver in this process. Measures delivery throughput (events per second, first
// acknowledged write to last event received) and each event's latency from its write's
// acknowledgement (its commit) to its receipt.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type BenchDb, cli, startService } from "./proc.js";

export interface WebhookFigures {
  events: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  writesPerSecond: number;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

export async function webhookBench(db: BenchDb, events: number, log: (l: string) => void): Promise<WebhookFigures> {
  const received = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = performance.now();
      const json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, { "content-type": "application/json" });
      if (json.type === "verify") return res.end(JSON.stringify({ challenge: json.verify.challenge }));
      const email = json.dev_user_created?.dev_user.email as string | undefined;
      if (email && !received.has(email)) received.set(email, at);
      res.end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const token = (await cli(db.url, ["token", "create", "--email", "admin@example.com"])).trim();
  const service = await startService(db.url, token);
  const post = (path: string, body: unknown) =>
    fetch(service.url + path, {
      method: "POST",
      headers: { authorization: token, "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<any>);
  try {
    const hook = await post("/webhooks.create", { url, event_types: ["dev_user_created"] });
    for (;;) {
      const w = await post("/webhooks.get", { id: hook.webhook.id });
      if (w.webhook.status === "active") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const acked = new Map<string, number>();
    let next = 0;
    const started = performance.now();
    const writer = async () => {
      while (next < events) {
        const email = `hook-${next++}@example.com`;
        await post("/dev-users.create", { email, state: "shadow" });
        acked.set(email, performance.now());
      }
    };
    await Promise.all(Array.from({ length: 20 }, writer));
    const written = performance.now();
    while (received.size < events) {
      if (performance.now() - written > 120_000) throw new Error(`only ${received.size} of ${events} events arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const last = Math.max(...received.values());
    const latencies = [...acked].map(([email, at]) => received.get(email)! - at);
    const figures = {
      events,
      eventsPerSecond: events / ((last - started) / 1000),
      p50Ms: pct(latencies, 0.5),
      p99Ms: pct(latencies, 0.99),
      writesPerSecond: events / ((written - started) / 1000),
    };
    log(`  webhooks: ${events} events, ${figures.eventsPerSecond.toFixed(0)} events/s`);
    return figures;
  } finally {
    await service.stop();
    await new Promise((r) => server.close(r));
  }
}

export function webhookTable(f: WebhookFigures): string {
  return [
    `webhooks: ${f.events} creates by 20 writers, each one event to a local receiver`,
    "",
    "| measure | value |",
    "|---|---:|",
    `| writes acknowledged per second | ${f.writesPerSecond.toFixed(0)} |`,
    `| events delivered per second (first write to last receipt) | ${f.eventsPerSecond.toFixed(0)} |`,
    `| commit to receipt, p50 | ${f.p50Ms.toFixed(1)} ms |`,
    `| commit to receipt, p99 | ${f.p99Ms.toFixed(1)} ms |`,
  ].join("\n");
}
