import type { RawBuilder } from 'kysely';
import type { Db, Tx } from '../../db/database.ts';
import { inTransaction, type AfterCommit } from '../../db/transaction.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import * as inbox from './inbox.repository.ts';
import type { InboxRow } from './inbox.repository.ts';

/** What applying one inbox row decided. */
export interface HandledEvent {
  outcome: string;
}

/**
 * The rows the worker applies together in one transaction, and what a handler keeps between them. A new one for
 * every transaction (a chunk rolled back and retried row by row gets one per row), so what the handler keeps is
 * never seen outside the transaction it was read or written in.
 */
export interface InboxChunk {
  readonly rows: readonly InboxRow[];
  /** The handler's own, for this transaction only. */
  readonly memo: Map<string, unknown>;
}

/**
 * Applies one event inside the worker's transaction; throwing rolls everything back and retries later. Work for
 * after the transaction committed (gateway calls) is registered with `after`. `chunk` holds every row of the
 * transaction (e.g. to read what they all need in one statement).
 */
export type InboxHandler = (trx: Tx, row: InboxRow, after: AfterCommit, chunk: InboxChunk) => Promise<HandledEvent>;

const chunkOf = (rows: readonly InboxRow[]): InboxChunk => ({ rows, memo: new Map() });

/**
 * A handler's quick path for a row claimed alone (issue 11): no transaction, so no BEGIN and COMMIT round trips. It
 * may read, and then write in ONE statement that includes `finish.inline(outcome, gate)` — the row marked processed,
 * fenced by the lease, as a CTE (`markProcessedInline`) — so the change and the mark commit together or not at all;
 * or, when the event changes nothing, call `finish.alone(outcome)` (the mark on its own). It returns the handled event once that statement marked the row, or
 * undefined when it wrote nothing: the row then goes the usual way, in a transaction with the full handler. It must
 * never write anything else outside that one statement, and never leave work for after a commit.
 */
export type InboxQuickHandler = (
  db: Db,
  row: InboxRow,
  finish: {
    inline: (outcome: string, gate?: string) => RawBuilder<unknown>;
    alone: (outcome: string) => Promise<boolean>;
  },
) => Promise<HandledEvent | undefined>;

export interface BatchSettings {
  db: Db;
  clock: Clock;
  logger: Logger;
  handle: InboxHandler;
  quick?: InboxQuickHandler | undefined;
  maxAttempts: number;
  backoffMs: (attempts: number) => number;
}

/** Our lease on a row of the chunk was taken over: the chunk's transaction is rolled back. */
class LeaseLost extends Error {}

/**
 * A failed attempt at one row: retried after its backoff, or dead after its last attempt. Only the lease holder
 * records it.
 */
async function recordFailure(settings: BatchSettings, leaseId: string, claimed: InboxRow, error: unknown) {
  const { db, clock, logger, maxAttempts, backoffMs } = settings;
  const dead = claimed.attempts >= maxAttempts;
  const message = error instanceof Error ? error.message : String(error);
  const next = new Date(clock.now().getTime() + backoffMs(claimed.attempts));
  logger.warn(
    { err: error, inboxId: claimed.id, eventId: claimed.event_id, attempts: claimed.attempts, dead },
    'webhook event failed',
  );
  await inbox.markFailed(db, claimed.id, leaseId, message.slice(0, 1000), dead ? 'dead' : 'failed', next);
}

/** One claimed row in its own transaction, fenced by the lease; false when the lease was taken over. */
export async function processOne(settings: BatchSettings, leaseId: string, claimed: InboxRow): Promise<boolean> {
  const { db, clock, handle } = settings;
  try {
    // What the handler registers with `after` runs once this has committed; its failures are only logged.
    return await inTransaction(db, async (trx, after) => {
      const row = await inbox.lockClaimed(trx, claimed.id, leaseId);
      if (row === undefined) return false; // our lease was taken over: the new holder processes it
      const handled = await handle(trx, row, after, chunkOf([row]));
      await inbox.markProcessed(trx, row.id, handled.outcome, clock.now());
      return true;
    });
  } catch (error) {
    await recordFailure(settings, leaseId, claimed, error);
    return true;
  }
}

/**
 * Claimed rows applied in arrival order in ONE transaction, marked processed together at its end (the lease fence,
 * markProcessedAll): a chunk costs its handlers' statements plus one, and one commit. When anything fails — a
 * handler throws, a lease was taken over, a deadlock — the transaction is rolled back and each row is processed alone
 * (processOne), so one bad event does not hold the others back and its own failure is recorded. Resolves with how
 * many rows it finished.
 */
export async function processChunk(settings: BatchSettings, leaseId: string, rows: readonly InboxRow[]) {
  const { db, clock, handle } = settings;
  if (rows.length === 0) return 0;
  if (rows.length === 1 && (await quickly(settings, leaseId, rows[0]!))) return 1;
  try {
    await inTransaction(db, async (trx, after) => {
      const done: { id: string; outcome: string }[] = [];
      const chunk = chunkOf(rows);
      for (const row of rows) done.push({ id: row.id, outcome: (await handle(trx, row, after, chunk)).outcome });
      if ((await inbox.markProcessedAll(trx, done, leaseId, clock.now())) < done.length) throw new LeaseLost();
    });
    return rows.length;
  } catch (error) {
    if (rows.length === 1 && !(error instanceof LeaseLost)) {
      await recordFailure(settings, leaseId, rows[0]!, error);
      return 1;
    }
    let finished = 0;
    for (const row of rows) if (await processOne(settings, leaseId, row)) finished += 1;
    return finished;
  }
}

/**
 * A row claimed alone through the handler's quick path, if it has one: true when that path marked it processed. A
 * quick path that wrote nothing or failed leaves the row to the transaction (which also finds a lost lease).
 */
async function quickly(settings: BatchSettings, leaseId: string, row: InboxRow): Promise<boolean> {
  const { quick, db, clock, logger } = settings;
  if (quick === undefined) return false;
  const now = clock.now();
  try {
    const handled = await quick(db, row, {
      inline: (outcome, gate) => inbox.markProcessedInline(row.id, leaseId, outcome, now, gate),
      alone: async (outcome) => (await inbox.markProcessedAll(db, [{ id: row.id, outcome }], leaseId, now)) === 1,
    });
    return handled !== undefined;
  } catch (error) {
    logger.debug({ err: error, inboxId: row.id }, 'quick path failed: the row goes the usual way');
    return false;
  }
}

/**
 * Splits a claimed batch into `lanes` chunks, keeping arrival order in each: rows with the same key (`laneOf`, e.g.
 * one payment's events) share a chunk, so one payment's events are applied in one transaction and two lanes never
 * wait on each other's rows of one payment; rows without a key are spread round the lanes.
 */
export function splitIntoLanes(
  rows: readonly InboxRow[],
  lanes: number,
  laneOf: ((row: InboxRow) => string | undefined) | undefined,
): InboxRow[][] {
  const chunks: InboxRow[][] = Array.from({ length: Math.max(1, Math.min(lanes, rows.length)) }, () => []);
  rows.forEach((row, index) => {
    const key = laneOf?.(row);
    chunks[key === undefined ? index % chunks.length : laneIndex(key, chunks.length)]!.push(row);
  });
  return chunks.filter((c) => c.length > 0);
}

/** The lane, of `lanes`, that rows with this key go to. */
export function laneIndex(key: string, lanes: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
  return h % lanes;
}
