import type { Logger } from '../observability/logger.ts';
import type { Db, Tx } from './database.ts';

/** How a failed after-commit job is logged: the registering module's logger, its message and fields. */
export interface AfterCommitLog {
  logger: Pick<Logger, 'error'>;
  message: string;
  fields?: Record<string, unknown>;
}

/**
 * Registers work (a gateway call, a wake-up) to run once the transaction has committed; never after a rollback.
 * A job that fails is logged with `log` and does not undo the commit: whatever it should have done is left for
 * the job that retries it (reconciliation).
 */
export type AfterCommit = (job: () => Promise<unknown>, log: AfterCommitLog) => void;

interface Job {
  run: () => Promise<unknown>;
  log: AfterCommitLog;
}

/**
 * Runs `work` in one transaction; once it has committed, the jobs `work` registered with `after` run, one at a
 * time, in the order they were registered. A rollback (`work` throws, or the commit fails) drops them.
 * Resolves with `work`'s value after the jobs have run.
 */
export async function inTransaction<T>(db: Db, work: (trx: Tx, after: AfterCommit) => Promise<T>): Promise<T> {
  const jobs: Job[] = [];
  const value = await db.transaction().execute((trx) => work(trx, (run, log) => jobs.push({ run, log })));
  await runAfterCommit(jobs);
  return value;
}

async function runAfterCommit(jobs: readonly Job[]): Promise<void> {
  for (const { run, log } of jobs) {
    try {
      await run();
    } catch (error) {
      log.logger.error({ err: error, ...log.fields }, log.message);
    }
  }
}
