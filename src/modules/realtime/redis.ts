import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Logger } from '../../observability/logger.ts';

export interface RedisLink {
  adapter: ReturnType<typeof createAdapter>;
  /** True while the publishing connection is up: the relay holds its messages back otherwise. */
  isReady(): boolean;
  close(): void;
}

/** The pub/sub pair behind @socket.io/redis-adapter; only this file talks to Redis for Socket.IO. */
export function connectRedis(url: string, logger: Logger): RedisLink {
  // Commands wait across reconnects instead of failing: the adapter publishes without handling rejections.
  const pub = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'fulcrum-socketio-pub' });
  const sub = pub.duplicate({ connectionName: 'fulcrum-socketio-sub' });
  let lastLogged = 0;
  const onError = (error: Error) => {
    // ioredis reports every failed reconnect attempt: one line per 10 s is enough.
    const now = Date.now();
    if (now - lastLogged < 10_000) return;
    lastLogged = now;
    logger.warn({ err: error }, 'redis (socket.io adapter) connection error');
  };
  pub.on('error', onError);
  sub.on('error', onError);
  return {
    adapter: createAdapter(pub, sub, { key: 'fulcrum.socket.io' }),
    isReady: () => pub.status === 'ready' && sub.status === 'ready',
    close() {
      pub.disconnect();
      sub.disconnect();
    },
  };
}
