// The stores @fastify/rate-limit ships, used directly by plugins/rate-limit.ts.
declare module "@fastify/rate-limit/store/LocalStore.js" {
  type Callback = (err: Error | null, res: { current: number; ttl: number } | null) => void;
  export default class LocalStore {
    constructor(continueExceeding: boolean, exponentialBackoff: boolean, cache?: number);
    incr(key: string, cb: Callback, timeWindow: number, max: number): void;
  }
}
declare module "@fastify/rate-limit/store/RedisStore.js" {
  import type { Redis } from "ioredis";

  type Callback = (err: Error | null, res: { current: number; ttl: number } | null) => void;
  export default class RedisStore {
    constructor(continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key?: string);
    incr(key: string, cb: Callback, timeWindow: number, max: number): void;
  }
}
