import { Server } from 'socket.io';
import type { Logger } from '../../observability/logger.ts';
import { RELAYED, type RealtimeEvent } from './events.ts';
import { connectRedis } from './redis.ts';

export interface Broadcaster {
  /** Sends relayed events to every API node's sockets; throws, sending nothing, while Redis is down. */
  publish(events: readonly RealtimeEvent[], staff?: readonly RealtimeEvent[]): void;
  close(): Promise<void>;
}

/**
 * The relay's Socket.IO sink in a process without sockets of its own (`worker`): a detached Socket.IO
 * server on the Redis adapter, so its emits reach the API nodes. Without Redis there is no API node to
 * reach: events then wait in the outbox for replay, and the caller is told so once.
 */
export function createBroadcaster(redisUrl: string | undefined, logger: Logger): Broadcaster {
  if (redisUrl === undefined) {
    logger.warn('worker without REDIS_URL: sockets of API processes get outbox events only by replay on reconnect');
    return { publish: () => {}, close: () => Promise.resolve() };
  }
  const redis = connectRedis(redisUrl, logger);
  const io = new Server({ adapter: redis.adapter });
  return {
    publish(events, staff = []) {
      if (events.length === 0 && staff.length === 0) return;
      if (!redis.isReady()) throw new Error('redis is not connected');
      io.serverSideEmit(RELAYED, [...events, ...staff]);
    },
    async close() {
      await io.of('/').adapter.close();
      await redis.close();
    },
  };
}
