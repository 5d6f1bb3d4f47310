import type { Db, Executor } from '../../db/database.ts';
import type { AfterCommit } from '../../db/transaction.ts';
import { runExclusive } from '../../shared/scheduler.ts';
import * as repo from './orders.repository.ts';
import type { OrderHooks } from './orders.service.ts';
import { transitionOrder } from './orders.transition.ts';

export const ORDER_EXPIRY_JOB = 'orders.expire';

export interface ExpiryDeps {
  db: Db;
  /** Orders per transaction. */
  batchSize?: number;
  hooks?: Pick<OrderHooks, 'paymentStatusOf' | 'beforeExpire' | 'onUnpaidOrderCancelled'>;
}

/** `expireBatch` without `after` (no hooks to ask): work to run after commit would be lost, so it is refused. */
const refuseAfterCommit: AfterCommit = () => {
  throw new Error('expireBatch: pass `after` (runExclusive, inTransaction) to run work after the commit');
};

/**
 * Cancels one batch of unpaid orders past their expiry inside `trx` and releases their stock.
 * Rows are claimed with FOR UPDATE SKIP LOCKED and moved with the guarded transition, so runs racing
 * each other (or a customer cancelling) never cancel an order or release its stock twice.
 */
export async function expireBatch(
  trx: Executor,
  now: Date,
  limit: number,
  hooks: Pick<OrderHooks, 'paymentStatusOf' | 'onUnpaidOrderCancelled'> = {},
  only?: readonly string[],
  /** Registers what the hooks ask to run once the batch has committed (gateway calls); default: nothing may be. */
  after: AfterCommit = refuseAfterCommit,
): Promise<string[]> {
  const ids = await repo.claimExpiredOrders(trx, now, limit, only);
  await repo.lockProductsOfOrders(trx, ids);
  for (const id of ids) {
    await transitionOrder(trx, id, 'CANCELLED', {
      actor: { system: 'expiry' },
      at: now,
      reason: 'expired',
      eventType: 'order.expired',
      paymentStatus: (await hooks.paymentStatusOf?.(trx, id)) ?? null,
    });
    await hooks.onUnpaidOrderCancelled?.(trx, { orderId: id, actor: 'system:expiry', reason: 'expired' }, after);
  }
  return ids;
}

/**
 * The expiry job's work for one tick (tests call it directly with a future `now`): batches, each in its
 * own transaction holding the job's advisory lock, until no expired order is left. Returns how many it
 * cancelled; 0 when another process holds the lock (it is doing the same work).
 */
export async function expireOrders(deps: ExpiryDeps, now: Date): Promise<number> {
  const batchSize = deps.batchSize ?? 100;
  const beforeExpire = deps.hooks?.beforeExpire;
  const kept = new Set<string>();
  let total = 0;
  for (;;) {
    let only: string[] | undefined;
    let due = 0;
    if (beforeExpire !== undefined) {
      // Payments' seam: each order's open checkout is closed at the gateway first (no transaction is held
      // across that call); only orders it lets go are claimed below, and those it keeps wait for a later run.
      const candidates = await repo.claimExpiredOrders(deps.db, now, batchSize, undefined, [...kept]);
      due = candidates.length;
      only = [];
      for (const id of candidates) {
        if ((await beforeExpire(id)) === 'cancel') only.push(id);
        else kept.add(id);
      }
    }
    // What the hooks register (gateway calls) runs once the batch has committed.
    const result = await runExclusive(deps.db, ORDER_EXPIRY_JOB, (trx, after) =>
      expireBatch(trx, now, batchSize, deps.hooks, only, after),
    );
    if (!result.ran) return total;
    total += result.value.length;
    if ((only === undefined ? result.value.length : due) < batchSize) return total;
  }
}
