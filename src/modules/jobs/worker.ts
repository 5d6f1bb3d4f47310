import type { Db } from '../../db/database.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { mailOnce, type MailQueue, type MailTransport } from '../mail/index.ts';
import { expireOrders, type OrderHooks } from '../orders/index.ts';
import { defaultRetention, pruneOnce, type RetentionPolicy } from './retention.ts';
import { startJob, type RunningJob } from '../../shared/scheduler.ts';

export interface WorkerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Payments' hooks, so expiry messages carry the payment status once payments exist. */
  orderHooks?: Pick<OrderHooks, 'paymentStatusOf' | 'beforeExpire'>;
  intervals?: { orderExpiryMs?: number; retentionMs?: number; mailMs?: number };
  /** The `mail` job: outbox events to mails, and mails out through the transport (SMTP_URL, or kept). */
  mail?: { queue: MailQueue; transport: MailTransport; from: string };
  /** What the retention job keeps (from REALTIME_REPLAY_WINDOW_HOURS, WEBHOOK_INBOX_RETENTION_DAYS, AMQP_URL). */
  retention?: RetentionPolicy;
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
      name: 'retention',
      intervalMs: deps.intervals?.retentionMs ?? 15 * 60_000,
      logger,
      run: async () => {
        // Batches of short transactions under the job's advisory lock: one node prunes at a time.
        const deleted = await pruneOnce(db, clock.now(), deps.retention ?? defaultRetention);
        if (deleted.outbox + deleted.idempotencyKeys + deleted.inbox > 0) logger.info({ deleted }, 'old rows pruned');
      },
    }),
  ];
  const mail = deps.mail;
  if (mail !== undefined) {
    jobs.push(
      startJob({
        name: 'mail',
        intervalMs: deps.intervals?.mailMs ?? 2_000,
        logger,
        runAtStart: true,
        run: async () => {
          const done = await mailOnce({ db, clock, logger, ...mail });
          if (done.sent + done.failed > 0) logger.info(done, 'mail sent');
        },
      }),
    );
  }
  return {
    jobs,
    async stop() {
      await Promise.all(jobs.map((job) => job.stop()));
    },
  };
}
