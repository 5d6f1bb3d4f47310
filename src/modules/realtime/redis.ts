import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Logger } from '../../observability/logger.ts';

export interface RedisLink {
  adapter: ReturnType<typeof createAdapter>;
  /** True while the publishing connection is up: the relay holds its messages back otherwise. */
  isReady(): boolean;
  close(): Promise<void>;
}

let instances = 0;

/**
 * The pub/sub pair behind @socket.io/redis-adapter; only this file talks to Redis for Socket.IO.
 * `onResubscribed` runs once the subscriber is back after a disconnection: messages published meanwhile
 * were lost for this node (Redis pub/sub keeps nothing), so its sockets must read the outbox again.
 */
export function connectRedis(url: string, logger: Logger, onResubscribed: () => void = () => {}): RedisLink {
  const name = `fulcrum-socketio-${process.pid}-${++instances}`;
  // Commands wait across reconnects instead of failing: the adapter publishes without handling rejections.
  const pub = new Redis(url, { maxRetriesPerRequest: null, connectionName: `${name}-pub` });
  const sub = pub.duplicate({ connectionName: `${name}-sub` });
  let readyCount = 0;
  sub.on('ready', () => {
    if (++readyCount === 1) return;
    logger.info('redis (socket.io adapter) subscriber reconnected: sockets re-read the outbox');
    // 'ready' comes before ioredis re-sends the subscriptions; a PING queued after them answers once they hold.
    setImmediate(() => {
      sub.ping().then(onResubscribed, () => {});
    });
  });
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
    async close() {
      // QUIT waits behind the adapter's UNSUBSCRIBEs, so they are answered rather than cut off; a Redis
      // that is down does not hold shutdown for more than a second.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([pub.quit(), sub.quit()]),
        new Promise((resolve) => (timer = setTimeout(resolve, 1_000))),
      ]);
      clearTimeout(timer);
      pub.disconnect();
      sub.disconnect();
    },
  };
}
