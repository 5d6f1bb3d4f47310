import { sql } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../../db/database.ts';
import { orderStatuses } from './order-status.ts';

/**
 * Orders' part of /metrics: `fulcrum_orders{status}`, one grouped count at scrape time, so every API node
 * reports the same figures whoever changed the orders. Every status is exported, 0 when no order has it, so a
 * series does not vanish when its last order moves on.
 */
export function registerOrderMetrics(registry: Registry, db: Db): void {
  new Gauge({
    name: 'fulcrum_orders',
    help: 'Orders by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const { rows } = await sql<{ status: string; n: number }>`
        select status, count(*)::int as n from orders group by status`.execute(db);
      this.reset();
      for (const status of orderStatuses) this.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
    },
  });
}
