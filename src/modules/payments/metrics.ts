import { sql } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../../db/database.ts';
import type { Clock } from '../../shared/clock.ts';
import { waitsForAdminSql } from './payments.repository.ts';

/**
 * Payments' part of /metrics, read from the database at scrape time (so it is right whichever process
 * does the work): inbox depth by status, how long the oldest unprocessed event has waited, payments by status,
 * and flagged payments waiting for an admin.
 */
export function registerPaymentMetrics(registry: Registry, db: Db, clock: Clock): void {
  new Gauge({
    name: 'fulcrum_webhook_inbox_rows',
    help: 'Webhook inbox rows by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const { rows } = await sql<{ status: string; n: number }>`
        select status, count(*)::int as n from webhook_inbox group by status`.execute(db);
      this.reset();
      for (const status of ['pending', 'processed', 'failed', 'dead']) {
        this.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
      }
    },
  });
  new Gauge({
    name: 'fulcrum_webhook_lag_seconds',
    help: 'Age of the oldest webhook event not yet processed (0 when none waits)',
    registers: [registry],
    async collect() {
      const { rows } = await sql<{ oldest: Date | null }>`
        select min(received_at) as oldest from webhook_inbox where status in ('pending', 'failed')`.execute(db);
      const oldest = rows[0]?.oldest ?? null;
      this.set(oldest === null ? 0 : Math.max(0, (clock.now().getTime() - new Date(oldest).getTime()) / 1000));
    },
  });
  new Gauge({
    name: 'fulcrum_payments',
    help: 'Payments by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const { rows } = await sql<{ status: string; n: number }>`
        select status, count(*)::int as n from payments group by status`.execute(db);
      this.reset();
      for (const row of rows) this.set({ status: row.status }, row.n);
    },
  });
  new Gauge({
    name: 'fulcrum_payments_flagged',
    help: 'Payments waiting for an admin: money that does not match the order (neither accepted nor refunded yet), or money owed back whose refund the gateway failed',
    registers: [registry],
    async collect() {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from payments where ${waitsForAdminSql}`.execute(db);
      this.set(rows[0]?.n ?? 0);
    },
  });
}
