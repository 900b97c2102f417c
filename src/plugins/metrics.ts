// Prometheus text exposition, kept by hand: a few counters and one histogram family.

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export class Metrics {
  private requests = new Map<string, number>();
  private latency = new Map<string, Histogram>();
  rateLimited = 0;
  redisErrors = 0;
  /** 1 while the rate limiter's breaker keeps requests off Redis. */
  redisBreakerOpen = 0;
  dbUnavailable = 0;

  observe(operation: string, status: number, seconds: number): void {
    const key = `operation="${label(operation)}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(key);
    if (!h) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.latency.set(key, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  render(pool: { total: number; idle: number; waiting: number }): string {
    const lines: string[] = [];
    lines.push("# HELP devusers_requests_total Requests answered, by operation and status.");
    lines.push("# TYPE devusers_requests_total counter");
    for (const [k, v] of this.requests) lines.push(`devusers_requests_total{${k}} ${v}`);
    lines.push("# HELP devusers_request_duration_seconds Time to answer, by operation and status.");
    lines.push("# TYPE devusers_request_duration_seconds histogram");
    for (const [k, h] of this.latency) {
      for (const [i, b] of BUCKETS.entries()) {
        lines.push(`devusers_request_duration_seconds_bucket{${k},le="${b}"} ${h.counts[i]}`);
      }
      lines.push(`devusers_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
      lines.push(`devusers_request_duration_seconds_sum{${k}} ${h.sum}`);
      lines.push(`devusers_request_duration_seconds_count{${k}} ${h.count}`);
    }
    const series = (name: string, help: string, value: number, type = "gauge") => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    };
    series("devusers_db_pool_connections", "Database connections open.", pool.total);
    series("devusers_db_pool_idle", "Database connections idle.", pool.idle);
    series("devusers_db_pool_waiting", "Queries waiting for a connection.", pool.waiting);
    series("devusers_rate_limited_total", "Requests rejected with 429.", this.rateLimited, "counter");
    series(
      "devusers_redis_errors_total",
      "Requests whose rate limit was counted in this instance, not in Redis: Redis failed, or the breaker was open.",
      this.redisErrors,
      "counter",
    );
    series(
      "devusers_redis_breaker_open",
      "1 while requests are kept off Redis after a failure (counted in this instance), else 0.",
      this.redisBreakerOpen,
    );
    series(
      "devusers_db_unavailable_total",
      "Requests answered 503 because the database was unreachable.",
      this.dbUnavailable,
      "counter",
    );
    return `${lines.join("\n")}\n`;
  }
}
