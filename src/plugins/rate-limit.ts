// Rate limiting with @fastify/rate-limit's own stores (in memory, or Redis shared by every
// instance). The plugin's hook reports X-RateLimit-Reset as seconds-from-now and offers no way
// to report the epoch second DevRev's clients expect, so this hook calls the stores itself.
import { createRequire } from "node:module";
import LocalStore from "@fastify/rate-limit/store/LocalStore.js";
import type RedisStoreClass from "@fastify/rate-limit/store/RedisStore.js";
import type { FastifyBaseLogger } from "fastify";
import type { Redis as RedisClient } from "ioredis";

export interface RateDecision {
  limit: number;
  remaining: number;
  /** Epoch seconds at which the window resets. */
  reset: number;
  /** Seconds to wait, when over the limit. */
  retryAfter?: number;
}

export interface RateLimiterOptions {
  max: number;
  windowSeconds: number;
  redisUrl?: string;
  redisTimeoutMs: number;
  log: FastifyBaseLogger;
  onRedisError: () => void;
}

type Store = LocalStore | RedisStoreClass;

// ioredis is loaded only when Redis is configured: it would add a tenth of a second to every start.
const require = createRequire(import.meta.url);

export class RateLimiter {
  private readonly store: Store;
  private readonly redis: RedisClient | undefined;
  private readonly windowMs: number;
  private lastWarning = 0;

  constructor(private readonly opts: RateLimiterOptions) {
    this.windowMs = opts.windowSeconds * 1000;
    if (opts.redisUrl) {
      const { Redis } = require("ioredis") as typeof import("ioredis");
      const RedisStore = require("@fastify/rate-limit/store/RedisStore.js") as typeof RedisStoreClass;
      this.redis = new Redis(opts.redisUrl, {
        connectTimeout: opts.redisTimeoutMs,
        commandTimeout: opts.redisTimeoutMs,
        // Fail fast while disconnected instead of queueing requests behind a dead server.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: (times) => Math.min(times * 200, 2000),
        lazyConnect: false,
      });
      this.redis.on("error", () => {}); // reported per request below, rate-limited
      this.store = new RedisStore(false, false, this.redis, "devusers-rl:");
    } else {
      this.store = new LocalStore(false, false, 100_000);
    }
  }

  get backend(): "redis" | "memory" {
    return this.redis ? "redis" : "memory";
  }

  /**
   * The bucket of the user a verified token names: what its signature proves, not how the token
   * is spelled, so neither a re-spelling nor a second token of the same user gets a fresh one.
   */
  static subjectKey(org: string, sub: number): string {
    return `u:${org}:${sub}`;
  }

  async hit(key: string): Promise<RateDecision | undefined> {
    const { max } = this.opts;
    try {
      const res = await new Promise<{ current: number; ttl: number }>((resolve, reject) => {
        this.store.incr(
          key,
          (err, r) => (err || !r ? reject(err ?? new Error("no result")) : resolve(r)),
          this.windowMs,
          max,
        );
      });
      const ttlMs = res.ttl > 0 ? res.ttl : this.windowMs;
      const decision: RateDecision = {
        limit: max,
        remaining: Math.max(0, max - res.current),
        reset: Math.ceil((Date.now() + ttlMs) / 1000),
      };
      if (res.current > max) decision.retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
      return decision;
    } catch (err) {
      // Fail open: a Redis outage must not take the directory down with it.
      this.opts.onRedisError();
      const now = Date.now();
      if (now - this.lastWarning > 5000) {
        this.lastWarning = now;
        this.opts.log.warn({ err }, "rate limiter store unavailable; serving without rate limits");
      }
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }
}
