// Rate limiting with @fastify/rate-limit's own stores (in memory, or Redis shared by every
// instance). The plugin's hook reports X-RateLimit-Reset as seconds-from-now and offers no way
// to report the epoch second DevRev's clients expect, so this hook calls the stores itself.
//
// Redis is behind a circuit breaker: after a failed call (an error, or no answer within the
// timeout) no request waits on Redis for a back-off (1 s, doubling to 30 s, reset once Redis
// answers). Meanwhile requests are counted in this instance's memory, so limits still apply, per
// instance; after each back-off one request at a time probes Redis.
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
  /** Once for each request counted without Redis (Redis failed, or the breaker was open). */
  onRedisError: () => void;
  /** The breaker opened (true) or closed again (false). */
  onBreakerChange?: (open: boolean) => void;
  /** The first back-off after Redis fails, in ms (1000). */
  breakerMinMs?: number;
  /** The longest back-off, in ms (30000). */
  breakerMaxMs?: number;
}

/** closed: Redis is used. open: it is not, until the back-off passes. probing: one request asks it. */
export type BreakerState = "closed" | "open" | "probing";

type Counted = { current: number; ttl: number };

// ioredis is loaded only when Redis is configured: it would add a tenth of a second to every start.
const require = createRequire(import.meta.url);

const WARN_EVERY_MS = 5000;

export class RateLimiter {
  /** This instance's counters: the only ones without Redis, the fallback with it. */
  private readonly local = new LocalStore(false, false, 100_000);
  private readonly shared: RedisStoreClass | undefined;
  private readonly redis: RedisClient | undefined;
  private readonly windowMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private state: BreakerState = "closed";
  /** The back-off in force; 0 while closed. */
  private backoffMs = 0;
  /** While open: when the next probe may go. */
  private retryAt = 0;
  private lastWarning = 0;

  constructor(private readonly opts: RateLimiterOptions) {
    this.windowMs = opts.windowSeconds * 1000;
    this.minBackoffMs = opts.breakerMinMs ?? 1000;
    this.maxBackoffMs = Math.max(this.minBackoffMs, opts.breakerMaxMs ?? 30_000);
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
      this.shared = new RedisStore(false, false, this.redis, "devusers-rl:");
    }
  }

  get backend(): "redis" | "memory" {
    return this.redis ? "redis" : "memory";
  }

  /** The breaker, for tests and metrics. */
  get breaker(): { state: BreakerState; backoffMs: number } {
    return { state: this.state, backoffMs: this.backoffMs };
  }

  /**
   * Resolves once the Redis client is connected, or has failed to, or after the timeout: whichever
   * comes first. Waited for before listening, so the first requests do not find Redis still
   * connecting (they would open the breaker). Never rejects.
   */
  ready(): Promise<void> {
    const redis = this.redis;
    if (!redis || redis.status === "ready") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off("ready", done);
        redis.off("error", done);
        redis.off("end", done);
        resolve();
      };
      const timer = setTimeout(done, this.opts.redisTimeoutMs);
      redis.once("ready", done);
      redis.once("error", done);
      redis.once("end", done);
    });
  }

  /**
   * The bucket of the user a verified token names: what its signature proves, not how the token
   * is spelled, so neither a re-spelling nor a second token of the same user gets a fresh one.
   */
  static subjectKey(org: string, sub: number): string {
    return `u:${org}:${sub}`;
  }

  async hit(key: string): Promise<RateDecision> {
    const shared = this.shared;
    if (!shared) return this.decide(this.countLocally(key));
    if (this.state !== "closed") {
      if (this.state === "probing" || Date.now() < this.retryAt) return this.withoutRedis(key);
      // The back-off is over: this request asks Redis; the others keep counting here meanwhile.
      this.state = "probing";
      try {
        const counted = await this.countShared(shared, key);
        this.closeBreaker();
        return this.decide(counted);
      } catch (err) {
        this.openBreaker(err, this.backoffMs * 2);
        return this.withoutRedis(key);
      }
    }
    try {
      return this.decide(await this.countShared(shared, key));
    } catch (err) {
      // Calls already under way when the breaker opened fail too: only the first one opens it.
      if (this.state === "closed") this.openBreaker(err, this.minBackoffMs);
      return this.withoutRedis(key);
    }
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }

  private countShared(store: RedisStoreClass, key: string): Promise<Counted> {
    return new Promise((resolve, reject) => {
      store.incr(
        key,
        (err, r) => (err || !r ? reject(err ?? new Error("no result")) : resolve(r)),
        this.windowMs,
        this.opts.max,
      );
    });
  }

  /** LocalStore answers synchronously. */
  private countLocally(key: string): Counted {
    let counted: Counted = { current: 1, ttl: this.windowMs };
    this.local.incr(
      key,
      (_err, r) => {
        if (r) counted = r;
      },
      this.windowMs,
      this.opts.max,
    );
    return counted;
  }

  private withoutRedis(key: string): RateDecision {
    this.opts.onRedisError();
    return this.decide(this.countLocally(key));
  }

  private decide(res: Counted): RateDecision {
    const { max } = this.opts;
    const ttlMs = res.ttl > 0 ? res.ttl : this.windowMs;
    const decision: RateDecision = {
      limit: max,
      remaining: Math.max(0, max - res.current),
      reset: Math.ceil((Date.now() + ttlMs) / 1000),
    };
    if (res.current > max) decision.retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
    return decision;
  }

  private openBreaker(err: unknown, backoffMs: number): void {
    const wasClosed = this.state === "closed";
    this.backoffMs = Math.min(Math.max(backoffMs, this.minBackoffMs), this.maxBackoffMs);
    this.retryAt = Date.now() + this.backoffMs;
    this.state = "open";
    if (wasClosed) this.opts.onBreakerChange?.(true);
    const now = Date.now();
    if (now - this.lastWarning > WARN_EVERY_MS) {
      this.lastWarning = now;
      this.opts.log.warn(
        { err, retryInMs: this.backoffMs },
        "rate limiter store unavailable; counting rate limits in this instance until Redis answers",
      );
    }
  }

  private closeBreaker(): void {
    this.state = "closed";
    this.backoffMs = 0;
    this.opts.onBreakerChange?.(false);
    this.opts.log.info({}, "rate limiter store answers again; rate limits are shared through Redis");
  }
}
