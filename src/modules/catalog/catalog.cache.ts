import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../../observability/logger.ts';

/**
 * A public catalog answer as it is sent: the serialized body and its strong ETag (a hash of those bytes, so the
 * tag changes whenever anything in the body does).
 */
export interface CachedAnswer {
  etag: string;
  body: string;
}

/** A serialized answer and its ETag: `"` + 27 characters of the body's SHA-256 in base64url + `"`. */
export function answerOf(value: unknown): CachedAnswer {
  const body = JSON.stringify(value);
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/**
 * Public catalog answers (product by id, list pages), kept at most `ttlMs` (docs/configuration.md,
 * CATALOG_CACHE_TTL_MS). Admin writes call `invalidate` after their commit; stock taken or put back by orders
 * is not announced, so the TTL bounds how old a cached `stock` can be.
 */
export interface CatalogCache {
  /** `redis` when shared by every node through REDIS_URL, `memory` in this process, `off` with a TTL of 0. */
  readonly kind: 'redis' | 'memory' | 'off';
  product(id: string): Promise<CachedAnswer | undefined>;
  keepProduct(id: string, answer: CachedAnswer): Promise<void>;
  list(query: string): Promise<CachedAnswer | undefined>;
  keepList(query: string, answer: CachedAnswer): Promise<void>;
  /** Drops the products' answers and every list page, on every node. */
  invalidate(productIds: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface CatalogCacheOptions {
  redisUrl: string | undefined;
  /** CATALOG_CACHE_KEY_PREFIX: deployments or test runs sharing one Redis keep apart. */
  keyPrefix: string;
  /** CATALOG_CACHE_TTL_MS, 0–1000; 0 turns the cache off. */
  ttlMs: number;
  logger: Logger;
}

/** Entries the in-process cache holds at most (products and list pages together); the oldest go first. */
export const MEMORY_CACHE_ENTRIES = 1000;

/** The caches of this process's apps, told when an order takes or gives back stock (`stockChanged`). */
const live = new Set<CatalogCache>();

export function createCatalogCache(options: CatalogCacheOptions): CatalogCache {
  if (options.ttlMs === 0) return offCache;
  const cache = options.redisUrl === undefined ? memoryCache(options.ttlMs, MEMORY_CACHE_ENTRIES) : redisCache(options);
  live.add(cache);
  return {
    ...cache,
    close() {
      live.delete(cache);
      return cache.close();
    },
  };
}

/**
 * Stock taken or put back (reserveStockInline, restock): the products' cached answers are dropped at once, not awaited,
 * while the order's transaction is still open. A read between this and the commit may keep the old stock again;
 * the TTL bounds that, as it bounds changes made by a process without a cache (a separate worker).
 */
export function stockChanged(productIds: readonly string[]): void {
  for (const cache of live) void cache.invalidate(productIds);
}

const offCache: CatalogCache = {
  kind: 'off',
  product: () => Promise.resolve(undefined),
  keepProduct: () => Promise.resolve(),
  list: () => Promise.resolve(undefined),
  keepList: () => Promise.resolve(),
  invalidate: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/** This process's cache: a Map in insertion order, bounded to `max` entries, each kept `ttlMs`. */
export function memoryCache(ttlMs: number, max: number, now: () => number = Date.now): CatalogCache {
  const entries = new Map<string, { expires: number; answer: CachedAnswer }>();
  const read = (key: string): Promise<CachedAnswer | undefined> => {
    const entry = entries.get(key);
    if (entry === undefined) return Promise.resolve(undefined);
    if (entry.expires > now()) return Promise.resolve(entry.answer);
    entries.delete(key);
    return Promise.resolve(undefined);
  };
  const keep = (key: string, answer: CachedAnswer): Promise<void> => {
    entries.delete(key);
    while (entries.size >= max) entries.delete(entries.keys().next().value!);
    entries.set(key, { expires: now() + ttlMs, answer });
    return Promise.resolve();
  };
  return {
    kind: 'memory',
    product: (id) => read(`p:${id}`),
    keepProduct: (id, answer) => keep(`p:${id}`, answer),
    list: (query) => read(`l:${query}`),
    keepList: (query, answer) => keep(`l:${query}`, answer),
    invalidate(productIds) {
      for (const id of productIds) entries.delete(`p:${id}`);
      for (const key of entries.keys()) if (key.startsWith('l:')) entries.delete(key);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

// KEYS[1] is the lists set, the others products' keys: deletes them, every list page the set names, and the set
// (in batches: unpack has a limit).
const INVALIDATE = `
local pages = redis.call('SMEMBERS', KEYS[1])
for i = 1, #pages, 500 do redis.call('DEL', unpack(pages, i, math.min(i + 499, #pages))) end
return redis.call('DEL', unpack(KEYS))`;

let instances = 0;

/**
 * Shared by every node: `<prefix>:p:<id>` per product, `<prefix>:l:<query>` per list page (named in the set
 * `<prefix>:lists`, so an admin write drops them all in one script), each with a TTL of `ttlMs`. Redis
 * unreachable or slower than 200 ms: the answer comes from the database (a miss), and the log says so at most
 * every 10 s. An invalidation lost that way is still bounded by the TTL.
 */
function redisCache({ redisUrl, keyPrefix, ttlMs, logger }: CatalogCacheOptions): CatalogCache {
  const client = new Redis(redisUrl!, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 200,
    connectionName: `fulcrum-catalog-cache-${process.pid}-${++instances}`,
  });
  let lastWarned = 0;
  const warn = (error: unknown): undefined => {
    const now = Date.now();
    if (now - lastWarned >= 10_000) {
      lastWarned = now;
      logger.warn({ err: error }, 'redis (catalog cache) unreachable: catalog answers come from the database');
    }
    return undefined;
  };
  client.on('error', warn);
  const lists = `${keyPrefix}:lists`;
  const read = async (key: string): Promise<CachedAnswer | undefined> => {
    const value = await client.get(key).catch(warn);
    if (value === null || value === undefined) return undefined;
    const space = value.indexOf(' ');
    return { etag: value.slice(0, space), body: value.slice(space + 1) };
  };
  const write = async (key: string, answer: CachedAnswer, listed: boolean): Promise<void> => {
    const value = `${answer.etag} ${answer.body}`;
    const batch = client.multi().set(key, value, 'PX', ttlMs);
    // The set outlives each page it names: it is refreshed to the TTL whenever a page is added.
    if (listed) batch.sadd(lists, key).pexpire(lists, ttlMs);
    await batch.exec().catch(warn);
  };
  let closed = false;
  return {
    kind: 'redis',
    product: (id) => read(`${keyPrefix}:p:${id}`),
    keepProduct: (id, answer) => write(`${keyPrefix}:p:${id}`, answer, false),
    list: (query) => read(`${keyPrefix}:l:${query}`),
    keepList: (query, answer) => write(`${keyPrefix}:l:${query}`, answer, true),
    async invalidate(productIds) {
      const keys = [lists, ...productIds.map((id) => `${keyPrefix}:p:${id}`)];
      await client.eval(INVALIDATE, keys.length, ...keys).catch(warn);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (client.status === 'ready') await client.quit().catch(() => undefined);
      client.disconnect();
    },
  };
}
