import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../../db/database.ts';
import type { Clock } from '../../shared/clock.ts';

/**
 * Realtime's part of /metrics. The outbox figures are read from the database at scrape time, so any API
 * node reports them whichever process relays; the socket count is this node's.
 */
export function registerRealtimeMetrics(
  registry: Registry,
  db: Db,
  clock: Clock,
  options: { isAmqpConfigured: boolean; connectionCount: () => number },
): void {
  const sinks = options.isAmqpConfigured ? (['socket', 'amqp'] as const) : (['socket'] as const);
  new Gauge({
    name: 'fulcrum_outbox_lag_seconds',
    help: 'Age of the oldest outbox message a sink has not published yet (0 when none waits)',
    labelNames: ['sink'] as const,
    registers: [registry],
    async collect() {
      for (const sink of sinks) {
        // The partial indexes of migrations 0002 and 0004 serve both lookups.
        const oldest = await db
          .selectFrom('outbox')
          .select('created_at')
          .where(sink === 'socket' ? 'published_at' : 'amqp_published_at', 'is', null)
          .orderBy('id')
          .limit(1)
          .executeTakeFirst();
        const age = oldest === undefined ? 0 : (clock.now().getTime() - new Date(oldest.created_at).getTime()) / 1000;
        this.set({ sink }, Math.max(0, age));
      }
    },
  });
  new Gauge({
    name: 'fulcrum_outbox_unpublished',
    help: 'Outbox messages a sink has not published yet',
    labelNames: ['sink'] as const,
    registers: [registry],
    async collect() {
      for (const sink of sinks) {
        const row = await db
          .selectFrom('outbox')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where(sink === 'socket' ? 'published_at' : 'amqp_published_at', 'is', null)
          .executeTakeFirstOrThrow();
        this.set({ sink }, Number(row.n));
      }
    },
  });
  new Gauge({
    name: 'fulcrum_socketio_connections',
    help: 'Sockets connected to this node',
    registers: [registry],
    collect() {
      this.set(options.connectionCount());
    },
  });
}
