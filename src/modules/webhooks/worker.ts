import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { createWakeableLoop } from '../../shared/wakeable-loop.ts';
import { createInboxLanes } from './inbox-lanes.ts';
import {
  processChunk,
  splitIntoLanes,
  type BatchSettings,
  type InboxHandler,
  type InboxQuickHandler,
} from './inbox-batch.ts';
import * as inbox from './inbox.repository.ts';
import type { InboxRow } from './inbox.repository.ts';

export type { HandledEvent, InboxChunk, InboxHandler, InboxQuickHandler } from './inbox-batch.ts';

export interface InboxWorkerOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  handle: InboxHandler;
  /** The handler's quick path for a row claimed alone (inbox-batch.ts): without a transaction. */
  quick?: InboxQuickHandler;
  maxAttempts: number;
  /** How long a claimed row is ours; a worker that dies holding it frees it when this runs out. */
  leaseMs?: number;
  /** Rows one claim takes (one statement), default 20. */
  batchSize?: number;
  /** Fallback poll when nothing wakes the worker (events stored by another process). */
  pollMs?: number;
  /** Backoff after the n-th failed attempt; default 2^(n-1) s, at most an hour. */
  backoffMs?: (attempts: number) => number;
  /**
   * Lanes (default 1) the running worker queues claimed rows in, each applying its rows a chunk — one transaction,
   * inbox-batch.ts processChunk — at a time while the worker claims again (inbox-lanes.ts). Worth more than 1 on a
   * PostgreSQL server, whose pool runs them in parallel; on PGlite's one connection 1. `processClaimed` (tests)
   * splits one claim into as many lanes and waits for them all.
   */
  concurrency?: number;
  /** Rows with the same key go to the same lane (one payment's events); default none: spread round the lanes. */
  laneOf?: (row: InboxRow) => string | undefined;
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
  /** Stops claiming; resolves when every row claimed is finished. */
  stop(): Promise<void>;
}

export const defaultBackoffMs = (attempts: number): number =>
  Math.min(2 ** Math.max(0, attempts - 1) * 1000, 3_600_000);

export function createInboxWorker(options: InboxWorkerOptions): InboxWorker {
  const { db, clock, logger, handle, maxAttempts } = options;
  const leaseMs = options.leaseMs ?? 60_000;
  const batchSize = options.batchSize ?? 20;
  const pollMs = options.pollMs ?? 1_000;
  const backoffMs = options.backoffMs ?? defaultBackoffMs;
  const settings: BatchSettings = { db, clock, logger, handle, quick: options.quick, maxAttempts, backoffMs };

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
    const chunks = splitIntoLanes(rows, concurrency, options.laneOf);
    const finished = await Promise.all(chunks.map((chunk) => processChunk(settings, leaseId, chunk)));
    return finished.reduce((a, b) => a + b, 0);
  }

  async function processInboxOnce(): Promise<number> {
    const { leaseId, rows } = await claim();
    return processClaimed(leaseId, rows);
  }

  // The running worker claims while its lanes apply what it claimed before (inbox-lanes.ts), holding at most two
  // claims' worth of rows: a claim waits until fewer than one batch is in hand.
  const lanes = createInboxLanes({
    lanes: concurrency,
    laneOf: options.laneOf,
    maxChunk: batchSize,
    logger,
    apply: (leaseId, rows) => processChunk(settings, leaseId, rows),
  });
  const loop = createWakeableLoop({
    idleMs: pollMs,
    pass: async () => {
      await lanes.roomBelow(batchSize);
      const { leaseId, rows } = await claim();
      lanes.add(leaseId, rows);
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
    stop: async () => {
      await loop.stop();
      await lanes.idle();
    },
  };
}
