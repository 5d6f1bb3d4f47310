import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../../observability/logger.ts';

export interface LimiterSpec {
  /** Namespace of this limiter's keys, e.g. `login`. */
  name: string;
  points: number;
  /** Seconds. */
  duration: number;
  /** Seconds the key stays blocked once over its points; 0: no block beyond the window. */
  blockDuration?: number;
}

/** Where rate-limit counts live: one Redis for every node when REDIS_URL is set, this process's memory otherwise. */
export interface RateLimitStore {
  readonly shared: boolean;
  limiter(spec: LimiterSpec): RateLimiterAbstract;
  /** Resolves once Redis answers (at once without Redis); until then limits are counted in memory. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimitStoreOptions {
  redisUrl: string | undefined;
  /** RATE_LIMIT_KEY_PREFIX: deployments or test runs sharing one Redis keep apart. */
  keyPrefix: string;
  logger: Logger;
}

let instances = 0;

/**
 * With Redis, every node counts against the same keys. When Redis is unreachable (or slower than 500 ms)
 * the limiter fails open to an insurance limiter in this process's memory — the same limits, counted per
 * node — and says so in the log (at most every 10 s); it returns to Redis once the connection is back.
 * Refusing every login while Redis is down would turn a cache outage into a full outage.
 */
export function createRateLimitStore({ redisUrl, keyPrefix, logger }: RateLimitStoreOptions): RateLimitStore {
  if (redisUrl === undefined) {
    return {
      shared: false,
      limiter: (spec) => new RateLimiterMemory(memoryOptions(spec)),
      ready: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }
  // Commands fail at once while disconnected (no offline queue) so a request never waits for Redis.
  const client = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectionName: `fulcrum-rate-limits-${process.pid}-${++instances}`,
  });
  let lastWarned = 0;
  let degraded = false;
  client.on('error', (error: Error) => {
    degraded = true;
    const now = Date.now();
    if (now - lastWarned < 10_000) return;
    lastWarned = now;
    logger.warn({ err: error }, "redis (rate limits) unreachable: limits are counted in this node's memory meanwhile");
  });
  client.on('ready', () => {
    if (!degraded) return;
    degraded = false;
    logger.info('redis (rate limits) reachable again: limits are shared again');
  });
  let closed = false;
  return {
    shared: true,
    limiter(spec) {
      return new RateLimiterRedis({
        ...memoryOptions(spec),
        keyPrefix: `${keyPrefix}:${spec.name}`,
        storeClient: client,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(memoryOptions(spec)),
      });
    },
    async ready() {
      if (client.status === 'ready') return;
      await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    },
    async close() {
      if (closed) return;
      closed = true;
      if (client.status === 'ready') await client.quit().catch(() => undefined);
      client.disconnect();
    },
  };
}

function memoryOptions(spec: LimiterSpec): {
  keyPrefix: string;
  points: number;
  duration: number;
  blockDuration: number;
} {
  return { keyPrefix: spec.name, points: spec.points, duration: spec.duration, blockDuration: spec.blockDuration ?? 0 };
}
