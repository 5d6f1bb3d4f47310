import { sql } from 'kysely';
import { startPeriodic, type Periodic } from '../shared/wakeable-loop.ts';
import type { Executor } from './schema.ts';

/**
 * PGlite runs PostgreSQL in single-user mode, where no checkpointer process runs: no checkpoint ever happens by
 * itself (`max_wal_size` and `checkpoint_timeout` are not acted on), so the WAL is never recycled. It grew by a
 * new 16 MB segment per 16 MB written, for as long as the process ran (measured: 1.7 GB of `pg_wal` after 1.7 GB
 * of writes; in memory for `memory://`, on disk in `DATA_DIR`), and each new segment was zero-filled inside the
 * commit that needed it (commits of 130–600 ms where the rest took a few). A restart after a crash replays the
 * WAL from the last checkpoint on: all of it.
 *
 * So the process that opens PGlite checkpoints it: every CHECKPOINT_CHECK_MS it reads how much WAL was written
 * since the last checkpoint began, and checkpoints once that is CHECKPOINT_AFTER_BYTES or more. Checkpoints let
 * PostgreSQL recycle old segments into new ones (no zero-fill), keeping `pg_wal` near PGLITE_WAL_SETTINGS' sizes.
 */
export const CHECKPOINT_CHECK_MS = 10_000;
export const CHECKPOINT_AFTER_BYTES = 32 * 1024 * 1024;

/**
 * Start parameters added to PGlite's own: what a checkpoint keeps of old segments for reuse (`min_wal_size`) and
 * at most (`max_wal_size`) — PostgreSQL's defaults, 80 MB and 1 GB, are sized for a server with a checkpointer —
 * and a new segment made by writing its last byte rather than 16 MB of zeroes (`wal_init_zero`; PGlite runs with
 * fsync off, so the zero-fill bought no durability): 3,000 commits of 20 KB had 5 commits of 55–396 ms with it,
 * none over 25 ms without.
 */
export const PGLITE_WAL_SETTINGS = ['-c', 'max_wal_size=64MB', '-c', 'min_wal_size=32MB', '-c', 'wal_init_zero=off'];

/** Bytes of WAL written since the last checkpoint's redo point. */
export async function walSinceCheckpoint(db: Executor): Promise<number> {
  const { rows } = await sql<{ behind: string | number }>`
    select pg_current_wal_insert_lsn() - redo_lsn as behind from pg_control_checkpoint()`.execute(db);
  return Number(rows[0]!.behind);
}

/** A checkpoint when `afterBytes` or more of WAL were written since the last one; true when it ran. */
export async function checkpointIfDue(db: Executor, afterBytes: number): Promise<boolean> {
  if ((await walSinceCheckpoint(db)) < afterBytes) return false;
  await sql`checkpoint`.execute(db);
  return true;
}

/** stop(): no more checks; resolves when the one in hand (and its checkpoint) has finished. */
export type PGliteCheckpoints = Periodic;

export interface CheckpointOptions {
  /** Default CHECKPOINT_CHECK_MS. */
  everyMs?: number;
  /** Default CHECKPOINT_AFTER_BYTES. */
  afterBytes?: number;
  /** A check or checkpoint that failed; the next check tries again. */
  onError: (error: unknown) => void;
}

/** The checks, on an unref'd timer: they never keep the process alive. */
export function startPGliteCheckpoints(db: Executor, options: CheckpointOptions): PGliteCheckpoints {
  const afterBytes = options.afterBytes ?? CHECKPOINT_AFTER_BYTES;
  return startPeriodic(() => checkpointIfDue(db, afterBytes), options.everyMs ?? CHECKPOINT_CHECK_MS, options.onError);
}
