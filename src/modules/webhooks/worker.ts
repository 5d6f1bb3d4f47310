import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../../db/database.ts';
import { inTransaction, type AfterCommit } from '../../db/transaction.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { createWakeableLoop } from '../../shared/wakeable-loop.ts';
import * as inbox from './inbox.repository.ts';
import type { InboxRow } from './inbox.repository.ts';

/** What applying one inbox row decided. */
export interface HandledEvent {
  outcome: string;
}

/**
 * Applies one event inside the worker's transaction; throwing rolls everything back and retries later. Work for
 * after the transaction committed (gateway calls) is registered with `after`.
 */
export type InboxHandler = (trx: Tx, row: InboxRow, after: AfterCommit) => Promise<HandledEvent>;

export interface InboxWorkerOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  handle: InboxHandler;
  maxAttempts: number;
  /** How long a claimed row is ours; a worker that dies holding it frees it when this runs out. */
  leaseMs?: number;
  batchSize?: number;
  /** Fallback poll when nothing wakes the worker (events stored by another process). */
  pollMs?: number;
  /** Backoff after the n-th failed attempt; default 2^(n-1) s, at most an hour. */
  backoffMs?: (attempts: number) => number;
  /**
   * Rows of a batch processed at once, each in its own transaction (default 1). Worth more than 1 on a
   * PostgreSQL server, whose pool runs them in parallel; events of one order still serialize on its row lock.
   */
  concurrency?: number;
}

export interface InboxWorker {
  /** Claims one batch and processes it; resolves with how many rows it finished (processed, failed or dead). */
  processInboxOnce(): Promise<number>;
  /** Claims without processing: a test stands for a worker that dies holding its rows. */
  claim(limit?: number): Promise<{ leaseId: string; rows: InboxRow[] }>;
  /** Processes rows claimed earlier with `claim` (fenced by the lease). */
  processClaimed(leaseId: string, rows: InboxRow[]): Promise<number>;
  /** Something was stored: run now instead of at the next poll. */
  wake(): void;
  start(): void;
  /** Stops polling; resolves when the batch in hand is finished. */
  stop(): Promise<void>;
}

export const defaultBackoffMs = (attempts: number): number =>
  Math.min(2 ** Math.max(0, attempts - 1) * 1000, 3_600_000);

type WorkerSettings = Pick<InboxWorkerOptions, 'db' | 'clock' | 'logger' | 'handle' | 'maxAttempts'> & {
  backoffMs: (attempts: number) => number;
};

/** One claimed row in its own transaction, fenced by the lease; false when the lease was taken over. */
async function processOne(worker: WorkerSettings, leaseId: string, claimed: InboxRow): Promise<boolean> {
  const { db, clock, logger, handle, maxAttempts, backoffMs } = worker;
  try {
    // What the handler registers with `after` runs once this has committed; its failures are only logged.
    const done = await inTransaction(db, async (trx, after) => {
      const row = await inbox.lockClaimed(trx, claimed.id, leaseId);
      if (row === undefined) return false; // our lease was taken over: the new holder processes it
      const handled = await handle(trx, row, after);
      await inbox.markProcessed(trx, row.id, handled.outcome, clock.now());
      return true;
    });
    if (!done) return false;
  } catch (error) {
    const dead = claimed.attempts >= maxAttempts;
    const message = error instanceof Error ? error.message : String(error);
    const next = new Date(clock.now().getTime() + backoffMs(claimed.attempts));
    logger.warn(
      { err: error, inboxId: claimed.id, eventId: claimed.event_id, attempts: claimed.attempts, dead },
      'webhook event failed',
    );
    await inbox.markFailed(db, claimed.id, leaseId, message.slice(0, 1000), dead ? 'dead' : 'failed', next);
    return true;
  }
  return true;
}

export function createInboxWorker(options: InboxWorkerOptions): InboxWorker {
  const { db, clock, logger, handle, maxAttempts } = options;
  const leaseMs = options.leaseMs ?? 60_000;
  const batchSize = options.batchSize ?? 20;
  const pollMs = options.pollMs ?? 1_000;
  const backoffMs = options.backoffMs ?? defaultBackoffMs;
  const settings: WorkerSettings = { db, clock, logger, handle, maxAttempts, backoffMs };

  async function claim(limit = batchSize): Promise<{ leaseId: string; rows: InboxRow[] }> {
    const leaseId = randomUUID();
    const { claimed, dead } = await inbox.claimDue(db, clock.now(), leaseMs, limit, leaseId, maxAttempts);
    for (const row of dead) {
      logger.error(
        { inboxId: row.id, eventId: row.event_id, attempts: row.attempts },
        'webhook event dead: its worker was lost on every attempt',
      );
    }
    return { leaseId, rows: claimed };
  }

  const concurrency = Math.max(1, options.concurrency ?? 1);

  async function processClaimed(leaseId: string, rows: InboxRow[]): Promise<number> {
    let finished = 0;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < rows.length) {
        const row = rows[next++]!;
        if (await processOne(settings, leaseId, row)) finished += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, lane));
    return finished;
  }

  async function processInboxOnce(): Promise<number> {
    const { leaseId, rows } = await claim();
    return processClaimed(leaseId, rows);
  }

  const loop = createWakeableLoop({
    idleMs: pollMs,
    pass: async () => {
      const { leaseId, rows } = await claim();
      await processClaimed(leaseId, rows);
      return rows.length === batchSize;
    },
    onError: (error) => logger.error({ err: error }, 'inbox worker pass failed'),
  });

  return {
    processInboxOnce,
    claim,
    processClaimed,
    wake: () => loop.wake(),
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}
