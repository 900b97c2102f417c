// The load generator, in its own process so it never shares a core's event loop with the
// service: `node load.js '<LoadSpec JSON>'` runs a warm-up, then the measured run, and prints
// one LoadResult as JSON on stdout.
import autocannon from "autocannon";
import { type LoadResult, type LoadSpec, requestsFor } from "./scenarios.js";

async function run(spec: LoadSpec, duration: number) {
  return autocannon({
    url: spec.url,
    connections: spec.connections,
    duration,
    timeout: 10,
    headers: { authorization: `Bearer ${spec.token}` },
    requests: requestsFor(spec),
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "") as LoadSpec;
  if (spec.warmup > 0) await run(spec, spec.warmup);
  const r = await run(spec, spec.duration);
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats)) statusCodes[code] = s.count;
  const result: LoadResult = {
    scenario: spec.scenario,
    rps: r.requests.average,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    statusCodes,
    total: r.requests.total,
    bytesPerResponse: r.requests.total > 0 ? Math.round(r.throughput.total / r.requests.total) : 0,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err) => {
  process.stderr.write(`load: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
