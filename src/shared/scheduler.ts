import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.ts';
import { inTransaction, type AfterCommit } from '../db/transaction.ts';
import type { Logger } from '../observability/logger.ts';
import { createWakeableLoop } from './wakeable-loop.ts';

export interface JobOptions {
  name: string;
  intervalMs: number;
  /** One tick. Errors are logged and the job carries on at the next tick. */
  run: () => Promise<unknown>;
  logger: Logger;
  /** Run a first tick right away instead of after one interval. */
  runAtStart?: boolean;
}

export interface RunningJob {
  name: string;
  /** Runs a tick now (or joins the one in hand): ticks never overlap within a process. */
  tick(): Promise<void>;
  /** No new ticks; resolves when the tick in hand has finished. */
  stop(): Promise<void>;
}

/** A periodic job on an unref'd timer: it never keeps the process alive and never overlaps itself. */
export function startJob(options: JobOptions): RunningJob {
  const { name, run, logger } = options;
  const loop = createWakeableLoop({
    pass: async () => {
      await run();
      return false;
    },
    idleMs: options.intervalMs,
    onError: (error) => logger.error({ err: error, job: name }, 'job tick failed'),
  });
  loop.start({ firstPassNow: options.runAtStart === true });
  return { name, tick: () => loop.runPass(), stop: () => loop.stop() };
}

export type Exclusive<T> = { ran: true; value: T } | { ran: false };

/**
 * Runs `fn` in a transaction holding the advisory lock named `name`, or not at all when another
 * process holds it: one node runs each tick. The lock ends with the transaction, so a crashed node
 * never leaves it held. `fn` must use the transaction it is given, never the database; work it registers
 * with `after` runs once the transaction has committed (`inTransaction`).
 */
export async function runExclusive<T>(
  db: Db,
  name: string,
  fn: (trx: Tx, after: AfterCommit) => Promise<T>,
): Promise<Exclusive<T>> {
  return inTransaction(db, async (trx, after): Promise<Exclusive<T>> => {
    const { rows } = await sql<{
      locked: boolean;
    }>`select pg_try_advisory_xact_lock(hashtext(${name})) as locked`.execute(trx);
    if (rows[0]?.locked !== true) return { ran: false };
    return { ran: true, value: await fn(trx, after) };
  });
}
