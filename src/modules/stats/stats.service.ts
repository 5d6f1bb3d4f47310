import type { Db } from '../../db/database.ts';
import type { Actor } from '../../shared/actor.ts';
import type { Clock } from '../../shared/clock.ts';
import { money, toCurrency } from '../../shared/money.ts';
import { requirePermission } from '../auth/index.ts';
import { countWaitingForAdmin } from '../payments/index.ts';
import * as repo from './stats.repository.ts';
import type { StatsResponse } from './stats.schemas.ts';

const MINUTE = 60_000;

/** GET /admin/stats: the dashboard home's figures (support, admin: `read_all`). */
export async function readStats(deps: { db: Db; clock: Clock }, actor: Actor): Promise<StatsResponse> {
  requirePermission(actor, 'read_all');
  const now = deps.clock.now();
  const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const firstMinute = new Date(Math.floor(now.getTime() / MINUTE) * MINUTE - 59 * MINUTE);
  const [today, perMinute, flaggedPayments, webhookInbox] = await Promise.all([
    repo.ordersSince(deps.db, dayStart),
    repo.ordersPerMinute(deps.db, firstMinute),
    countWaitingForAdmin(deps.db),
    repo.inboxDepth(deps.db),
  ]);
  return {
    at: now.toISOString(),
    today: {
      since: dayStart.toISOString(),
      orders: today.orders,
      revenue: today.revenue.map((r) => money(r.amount, toCurrency(r.currency))),
    },
    flaggedPayments,
    webhookInbox,
    ordersPerMinute: Array.from({ length: 60 }, (_, i) => {
      const minute = firstMinute.getTime() + i * MINUTE;
      return { minute: new Date(minute).toISOString(), orders: perMinute.get(minute) ?? 0 };
    }),
  };
}
