// What the load worker is asked to run, and the requests each scenario sends.

import type { RequestSpec } from "autocannon";
import { devUserDon } from "../src/ids.js";

export const SCENARIOS = ["link", "create", "get", "lookup", "list", "self"] as const;
export const BASELINES = ["baseline", "baseline-page"] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type AnyScenario = Scenario | (typeof BASELINES)[number];

/** The baseline each scenario is compared with: the bare route returning the same kind of bytes. */
export const baselineOf = (s: AnyScenario): AnyScenario =>
  s === "list" || s === "baseline-page" ? "baseline-page" : "baseline";

export interface LoadSpec {
  url: string;
  scenario: AnyScenario;
  token: string;
  org: string;
  /** Seeded dev user ids, inclusive: random picks come from here. */
  ids: [number, number];
  connections: number;
  duration: number;
  warmup: number;
  /** Unique per run, so link issuers never repeat across runs on one database. */
  tag: string;
}

export interface LoadResult {
  scenario: AnyScenario;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  total: number;
  bytesPerResponse: number;
}

export const randomId = ([lo, hi]: [number, number]) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** The link body: a fresh issuer per request, so neither uniqueness rule can refuse it. */
export function linkBody(spec: LoadSpec, k: number): string {
  return JSON.stringify({
    dev_user: devUserDon(spec.org, randomId(spec.ids)),
    issuer: `bench-${spec.tag}-${k}`,
    id: `x${k}`,
    display_name: `bench ${k}`,
  });
}

/** The create body: a new email per request, so the org's unique email rule never refuses it. */
export function createBody(spec: LoadSpec, k: number): string {
  return JSON.stringify({ email: `bench-${spec.tag}-${k}@example.com`, state: "shadow", full_name: `Bench ${k}` });
}

/** Per process, across the warm-up and the measured run: every link gets a new issuer. */
let k = 0;

export function requestsFor(spec: LoadSpec): RequestSpec[] {
  const json = { "content-type": "application/json" };
  switch (spec.scenario) {
    case "link":
    case "baseline": {
      const path = spec.scenario === "link" ? "/dev-users.identities.link" : "/user";
      return [{ method: "POST", path, headers: json, setupRequest: (req) => ({ ...req, body: linkBody(spec, ++k) }) }];
    }
    case "create":
      return [
        {
          method: "POST",
          path: "/dev-users.create",
          headers: json,
          setupRequest: (req) => ({ ...req, body: createBody(spec, ++k) }),
        },
      ];
    case "get":
      return [
        {
          method: "GET",
          setupRequest: (req) => ({
            ...req,
            path: `/dev-users.get?id=${encodeURIComponent(devUserDon(spec.org, randomId(spec.ids)))}`,
          }),
        },
      ];
    case "lookup":
      return [
        {
          method: "GET",
          setupRequest: (req) => ({
            ...req,
            path: `/dev-users.list?external_identity.issuer=slack&external_identity.id=U${randomId(spec.ids)}`,
          }),
        },
      ];
    case "list":
      return [{ method: "GET", path: "/dev-users.list?limit=50" }];
    case "self":
      return [{ method: "GET", path: "/dev-users.self" }];
    case "baseline-page":
      return [{ method: "GET", path: "/page" }];
  }
}

export { devUserDon };
