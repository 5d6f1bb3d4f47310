import type { Executor } from '../../db/database.ts';

/**
 * Ends every claim on the inbox at once: for a process that knows it is the only one on its database (PGlite,
 * whose DATA_DIR lock proves it) and is starting, so the worker that claimed them died with the previous process.
 * The rows are due again now instead of when their lease would have run out; the claim that takes them counts
 * the lost attempt as it does for a lease that ran out.
 */
export async function releaseInboxLeases(db: Executor, now: Date): Promise<number> {
  const result = await db
    .updateTable('webhook_inbox')
    .set({ locked_until: now })
    .where('status', 'in', ['pending', 'failed'])
    .where('locked_until', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
