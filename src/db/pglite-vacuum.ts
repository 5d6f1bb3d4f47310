import { sql } from 'kysely';
import { startPeriodic, type Periodic } from '../shared/wakeable-loop.ts';
import type { Executor } from './schema.ts';

/**
 * PGlite runs PostgreSQL in single-user mode, where the autovacuum launcher does not run: no table is ever vacuumed
 * or analysed by itself. Every update or delete leaves a dead row version whose space is never reused and whose index
 * entries every scan steps over — the outbox (published, then mailed), mails (claimed, then sent), orders, payments,
 * the inbox, idempotency keys — so tables only grow (in memory for `memory://`, on disk in `DATA_DIR`) and their queue
 * scans slow down. Measured in a script, 15,000 mails inserted, claimed and sent as the mail worker does: 45 MB and
 * claims of 4.4–6.9 ms unvacuumed; 21 MB and 2.0–3.3 ms vacuumed every 1,000.
 *
 * So the process that opens PGlite vacuums it: every VACUUM_CHECK_MS it asks which of Fulcrum's tables autovacuum
 * would see to now — its own formula and settings (`autovacuum_vacuum_threshold` + `…_scale_factor` × rows for dead
 * rows, the insert thresholds for rows added since the last vacuum, the analyze ones for changed rows) — and vacuums
 * (and analyses) or only analyses those, one statement each. Like a checkpoint, each runs on PGlite's one thread.
 */
export const VACUUM_CHECK_MS = 15_000;

/**
 * A start parameter added to PGlite's own: ANALYZE samples 300 × `default_statistics_target` rows of a table, and on
 * PGlite it holds the one session while it reads them — every request waits. With PostgreSQL's default (100: 30,000
 * rows) an analysis of a table of 160,000 orders' rows took 125–980 ms each (mails, whose rows carry their bodies, the
 * longest), and at a few hundred orders a second each big table is due every 15–30 s: a bench soak at 243 orders/s
 * spent 4–9 s of every minute in these statements and its p99 was 566–670 ms. At 10 (3,000 rows) the same analyses
 * took 21–43 ms. Ten most-common values and ten histogram buckets per column are plenty for Fulcrum's statements,
 * which find rows by key or through an index. Only PGlite: a server's autovacuum analyses beside the sessions.
 */
export const PGLITE_ANALYZE_SETTINGS = ['-c', 'default_statistics_target=10'];

export interface TableDue {
  table: string;
  /** Vacuum (and analyse) it; false: analyse it only. */
  vacuum: boolean;
}

/** Fulcrum's tables (schema public) that autovacuum would vacuum or analyse now. */
export async function tablesDue(db: Executor): Promise<TableDue[]> {
  // Statistics reach pg_stat_user_tables at most once a second; this makes the next read see them all.
  await sql`select pg_stat_force_next_flush()`.execute(db);
  const { rows } = await sql<{ table: string; vacuum: boolean; analyze: boolean }>`
    with s as (
      select st.relname as table, st.n_dead_tup, st.n_ins_since_vacuum, st.n_mod_since_analyze,
             greatest(c.reltuples, 0) as rows
      from pg_stat_user_tables st join pg_class c on c.oid = st.relid
      where st.schemaname = 'public'
    ), d as (
      select s.table,
             s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
                            + current_setting('autovacuum_vacuum_scale_factor')::float8 * s.rows
             or s.n_ins_since_vacuum > current_setting('autovacuum_vacuum_insert_threshold')::float8
                            + current_setting('autovacuum_vacuum_insert_scale_factor')::float8 * s.rows as vacuum,
             s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
                            + current_setting('autovacuum_analyze_scale_factor')::float8 * s.rows as analyze
      from s
    )
    select d.table, d.vacuum, d.analyze from d where d.vacuum or d.analyze order by d.table`.execute(db);
  return rows.map((r) => ({ table: r.table, vacuum: r.vacuum }));
}

/** Vacuums (or analyses) every table due; the tables it saw to. */
export async function vacuumDue(db: Executor): Promise<TableDue[]> {
  const due = await tablesDue(db);
  for (const { table, vacuum } of due) {
    const name = sql.id('public', table);
    await (vacuum ? sql`vacuum (analyze) ${name}` : sql`analyze ${name}`).execute(db);
  }
  return due;
}

/** stop(): no more checks; resolves when the one in hand (and its vacuums) has finished. */
export type PGliteVacuum = Periodic;

export interface VacuumOptions {
  /** Default VACUUM_CHECK_MS. */
  everyMs?: number;
  /** A check or vacuum that failed; the next check tries again. */
  onError: (error: unknown) => void;
}

/** The checks, on an unref'd timer: they never keep the process alive. */
export function startPGliteVacuum(db: Executor, options: VacuumOptions): PGliteVacuum {
  return startPeriodic(() => vacuumDue(db), options.everyMs ?? VACUUM_CHECK_MS, options.onError);
}
