// Before a scenario's load: the service must be idle, and each scenario must answer 200 once.
import type { Service } from "./proc.js";
import { devUserDon } from "./scenarios.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Waits until the server answers /healthz within 5 ms: requests of the last scenario still queued
 * when its connections closed would otherwise be charged to the next one.
 */
export async function settle(url: string): Promise<void> {
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    const t = performance.now();
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    // Any answer will do (the baseline has no /healthz); only its speed matters.
    if (res && performance.now() - t < 5) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function getJson(url: string, token: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** One request per scenario before the load, so a broken scenario fails loudly, not as non-2xx. */
export async function check(
  service: Service,
  token: string,
  org: string,
  ids: [number, number],
): Promise<{ user: any; page: any }> {
  const id = ids[0] + 1 <= ids[1] ? ids[0] + 1 : ids[0];
  const user = await getJson(`${service.url}/dev-users.get?id=${encodeURIComponent(devUserDon(org, id))}`, token);
  const page = await getJson(`${service.url}/dev-users.list?limit=50`, token);
  const lookup = await getJson(
    `${service.url}/dev-users.list?external_identity.issuer=slack&external_identity.id=U${id}`,
    token,
  );
  const self = await getJson(`${service.url}/dev-users.self`, token);
  const problems: string[] = [];
  if (user.status !== 200) problems.push(`get: ${user.status}`);
  if (page.status !== 200 || page.body.dev_users.length !== Math.min(50, ids[1] - ids[0] + 1))
    problems.push(`list: ${page.status}`);
  if (lookup.status !== 200 || lookup.body.dev_users.length !== 1) problems.push(`lookup: ${lookup.status}`);
  if (self.status !== 200) problems.push(`self: ${self.status}`);
  if (problems.length) throw new Error(`scenario checks failed: ${problems.join(", ")}`);
  const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
  log(`  responses: a dev user ${bytes(user.body)} bytes, a 50-user page ${bytes(page.body)} bytes`);
  return { user: user.body, page: page.body };
}
