import type { Db } from '../../db/database.ts';
import { deleteExpiredIdempotencyKeys } from '../../http/idempotency.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { expireOrders, type OrderHooks } from '../orders/index.ts';
import { runExclusive, startJob, type RunningJob } from './scheduler.ts';

const CLEANUP_BATCH = 1000;

export interface WorkerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Payments' hooks, so expiry messages carry the payment status once payments exist. */
  orderHooks?: Pick<OrderHooks, 'paymentStatusOf' | 'beforeExpire'>;
  intervals?: { orderExpiryMs?: number; idempotencyCleanupMs?: number };
}

export interface Worker {
  jobs: RunningJob[];
  /** Stops every job, waiting for the ticks in hand. */
  stop(): Promise<void>;
}

/** The periodic jobs of a `worker` (or `all`) process. Each tick runs on one node at a time. */
export function startWorkerJobs(deps: WorkerDeps): Worker {
  const { db, clock, logger } = deps;
  const jobs = [
    startJob({
      name: 'orders.expire',
      intervalMs: deps.intervals?.orderExpiryMs ?? 10_000,
      logger,
      runAtStart: true,
      run: async () => {
        const expired = await expireOrders({ db, ...(deps.orderHooks ? { hooks: deps.orderHooks } : {}) }, clock.now());
        if (expired > 0) logger.info({ expired }, 'unpaid orders expired');
      },
    }),
    startJob({
      name: 'idempotency.cleanup',
      intervalMs: deps.intervals?.idempotencyCleanupMs ?? 15 * 60_000,
      logger,
      run: async () => {
        // One batch per transaction under the job's lock, until a batch comes back short.
        let deleted = 0;
        for (;;) {
          const result = await runExclusive(db, 'idempotency.cleanup', (trx) =>
            deleteExpiredIdempotencyKeys(trx, clock.now(), { batchSize: CLEANUP_BATCH, maxBatches: 1 }),
          );
          if (!result.ran) break;
          deleted += result.value;
          if (result.value < CLEANUP_BATCH) break;
        }
        if (deleted > 0) logger.info({ deleted }, 'old idempotency keys deleted');
      },
    }),
  ];
  return {
    jobs,
    async stop() {
      await Promise.all(jobs.map((job) => job.stop()));
    },
  };
}
