import type { Db } from '../../db/database.ts';
import { deleteExpiredIdempotencyKeys, IDEMPOTENCY_RETENTION_MS } from '../../http/idempotency.ts';
import { deletePublishedBefore } from '../realtime/index.ts';
import { deleteProcessedBefore } from '../webhooks/index.ts';
import { runExclusive } from '../../shared/scheduler.ts';

/** What the retention job keeps; main.ts builds it from the configuration. */
export interface RetentionPolicy {
  /** REALTIME_REPLAY_WINDOW_HOURS: published outbox rows older than this go (a replay cannot reach them then). */
  replayWindowMs: number;
  /** WEBHOOK_INBOX_RETENTION_DAYS: processed inbox rows older than this go. */
  inboxRetentionMs: number;
  /** AMQP_URL is set: an outbox row goes only once RabbitMQ has confirmed it too. */
  amqp: boolean;
  /** The mail job runs: an outbox row goes only once its mails were made (outbox.mailed_at). */
  mail?: boolean;
  /** Rows deleted per transaction, so no lock is held for long. */
  batchSize?: number;
  /** Batches per table per tick; what is left waits for the next tick. */
  maxBatches?: number;
}

export const defaultRetention: RetentionPolicy = {
  replayWindowMs: 7 * 24 * 3600_000,
  inboxRetentionMs: 30 * 24 * 3600_000,
  amqp: false,
};

export interface RetentionResult {
  outbox: number;
  idempotencyKeys: number;
  inbox: number;
}

/** The advisory lock each batch holds: one node prunes at a time. */
export const RETENTION_LOCK = 'retention';

/**
 * One retention pass: published outbox rows past the replay window, idempotency keys past their 24 hours and
 * processed webhook inbox rows past their age. Never a pending, failed or dead inbox row, an unpublished outbox
 * row or an idempotency key whose request still holds it. Each batch is its own short transaction under the
 * advisory lock; when another node holds the lock, this one stops and leaves the work to it.
 */
export async function pruneOnce(db: Db, now: Date, policy: RetentionPolicy): Promise<RetentionResult> {
  const batchSize = policy.batchSize ?? 1000;
  const maxBatches = policy.maxBatches ?? 100;
  const result: RetentionResult = { outbox: 0, idempotencyKeys: 0, inbox: 0 };
  const outboxCutoff = new Date(now.getTime() - policy.replayWindowMs);
  const inboxCutoff = new Date(now.getTime() - policy.inboxRetentionMs);
  const steps: [keyof RetentionResult, (trx: Db) => Promise<number>][] = [
    [
      'outbox',
      (trx) =>
        deletePublishedBefore(trx, outboxCutoff, { amqp: policy.amqp, mail: policy.mail ?? false, limit: batchSize }),
    ],
    [
      'idempotencyKeys',
      (trx) =>
        deleteExpiredIdempotencyKeys(trx, now, {
          retentionMs: IDEMPOTENCY_RETENTION_MS,
          batchSize,
          maxBatches: 1,
        }),
    ],
    ['inbox', (trx) => deleteProcessedBefore(trx, inboxCutoff, batchSize)],
  ];
  for (const [table, deleteBatch] of steps) {
    for (let batch = 0; batch < maxBatches; batch += 1) {
      const run = await runExclusive(db, RETENTION_LOCK, deleteBatch);
      if (!run.ran) return result;
      result[table] += run.value;
      if (run.value < batchSize) break;
    }
  }
  return result;
}
