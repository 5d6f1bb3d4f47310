import { randomUUID } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import {
  createCommitSignals,
  crossProcessNotifier,
  NOTIFY_CHANNELS,
  signalingDialect,
  type CommitSignals,
} from './commit-signals.ts';
import { startPGliteCheckpoints, type CheckpointOptions } from './pglite-checkpoints.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { createPGlite, inProcess, neverLost, startPGliteThread, type PGliteHandle } from './pglite-thread.ts';
import { startPGliteVacuum, type VacuumOptions } from './pglite-vacuum.ts';
import { prepareStatements, statementNames } from './prepared.ts';
import { INT8_OID, type DB } from './schema.ts';

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;
export type { Executor } from './schema.ts';

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Set for a PostgreSQL server: LISTEN needs a connection of its own. */
  url: string | undefined;
  /**
   * After each commit that inserted into the outbox or the webhook inbox, in this process (commit-signals.ts). On a
   * PostgreSQL server the same commits also reach other processes as NOTIFY on NOTIFY_CHANNELS.
   */
  signals: CommitSignals;
  /**
   * This instance's NOTIFY payload. Its own commits already woke its relay and worker in-process, so its listeners
   * ignore the NOTIFY that comes back (listen.ts `ignorePayload`): a wake-up for nothing costs an empty pass.
   */
  notifySource: string;
  /**
   * Settles with the reason if the database is gone for good and only a new process can open it again: PGlite's
   * thread died (pglite-thread.ts). Never settles on a server, whose pool reconnects after an outage, or for PGlite in
   * process.
   */
  lost: Promise<Error>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…`, `memory://`, or undefined for PGlite files in dataDir. */
  url: string | undefined;
  dataDir: string;
  statementTimeoutMs?: number;
  poolSize?: number;
  /** Send repeated statements by name (prepared.ts on a server, pglite-statements.ts on PGlite). Default true. */
  preparedStatements?: boolean;
  /**
   * PGlite on a worker thread of its own (pglite-thread.ts), so the database and the HTTP server's JavaScript run on
   * two cores (PGLITE_THREAD). Default true; false: in process.
   */
  thread?: boolean;
  /** PGlite: its checkpoints (pglite-checkpoints.ts). A failed one goes to onError (default: a process warning). */
  checkpoints?: Partial<CheckpointOptions>;
  /** PGlite: its vacuums (pglite-vacuum.ts). A failed one goes to onError (default: a process warning). */
  vacuum?: Partial<VacuumOptions>;
}

const NUMERIC_OID = 1700;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url !== undefined && options.url !== 'memory://') {
    return openPostgres(options.url, options);
  }
  return openPGlite(options.url === 'memory://' ? undefined : options.dataDir, options);
}

async function openPGlite(
  dataDir: string | undefined,
  { checkpoints: checkpointOptions = {}, vacuum: vacuumOptions = {}, preparedStatements, thread }: DatabaseOptions,
): Promise<Database> {
  let release = () => {};
  if (dataDir !== undefined) {
    mkdirSync(dataDir, { recursive: true });
    release = lockDataDir(dataDir);
  }
  let pglite: PGliteHandle;
  try {
    const files = dataDir === undefined ? undefined : `${dataDir}/pgdata`;
    pglite =
      thread !== false
        ? await startPGliteThread({ dataDir: files, preparedStatements: preparedStatements !== false })
        : inProcess(
            await createPGlite(files),
            preparedStatements === false ? undefined : statementNames({ wholeRows: true }),
          );
  } catch (error) {
    release();
    throw error;
  }
  const signals = createCommitSignals();
  const db = new Kysely<DB>({ dialect: signalingDialect(new PGliteDialect(pglite), signals) });
  const checkpoints = startPGliteCheckpoints(db, {
    onError: (error) => process.emitWarning(`PGlite checkpoint failed: ${String(error)}`),
    ...checkpointOptions,
  });
  const vacuum = startPGliteVacuum(db, {
    onError: (error) => process.emitWarning(`PGlite vacuum failed: ${String(error)}`),
    ...vacuumOptions,
  });
  return {
    db,
    kind: 'pglite',
    url: undefined,
    signals,
    notifySource: randomUUID(),
    lost: pglite.lost,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: async () => {
      try {
        await checkpoints.stop();
        await vacuum.stop();
        await db.destroy();
        // Kysely closes its driver only if it ever ran a query; the files must be closed before the lock goes.
        if (!pglite.closed) await pglite.close();
      } finally {
        release();
      }
    },
  };
}

/** PGlite has no lock of its own: a second process on the same files silently loses writes or corrupts them. */
export class DataDirLockedError extends Error {}

/** Lock files held by this process: a lock naming our own pid that we do not hold is a previous run's (a container restarted). */
const heldLocks = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function holder(file: string): number | undefined {
  const pid = readPid(file);
  if (pid === undefined) return undefined;
  if (pid === process.pid) return heldLocks.has(file) ? pid : undefined;
  return isAlive(pid) ? pid : undefined;
}

/**
 * Takes `DATA_DIR/fulcrum.lock` (created with O_EXCL, holding our pid) and returns its release. A lock
 * whose pid is dead is taken over: renamed away first, so of two processes taking it over only one wins.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'fulcrum.lock');
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      heldLocks.add(file);
      const release = () => {
        if (!heldLocks.delete(file)) return;
        process.off('exit', release);
        try {
          unlinkSync(file);
        } catch {
          // already gone: nothing to release
        }
      };
      // A process that exits without closing (process.exit on a timeout) still leaves no lock behind.
      process.on('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = holder(file);
    if (pid !== undefined) {
      throw new DataDirLockedError(
        `another Fulcrum process (pid ${pid}) is using DATA_DIR ${dataDir}; stop it first (the lock is ${file})`,
      );
    }
    takeOverStale(file);
  }
  throw new DataDirLockedError(`could not take the lock ${file} of DATA_DIR ${dataDir}; try again`);
}

function takeOverStale(file: string): void {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // someone else moved or released it: try again
  }
  if (holder(aside) !== undefined) {
    // We moved a live lock that replaced the stale one meanwhile: put it back unless a newer one exists.
    try {
      linkSync(aside, file);
    } catch {
      // a third process holds it now; ours will fail or succeed on the next attempt
    }
  }
  unlinkSync(aside);
}

function openPostgres(url: string, options: DatabaseOptions): Database {
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') => {
      if (oid === INT8_OID) return (v: string) => Number(v);
      if (oid === NUMERIC_OID) return (v: string) => v;
      return pg.types.getTypeParser(oid, format) as (v: string) => unknown;
    },
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
    idle_in_transaction_session_timeout: 60_000,
    types,
  });
  // An idle client losing its server must not crash the process; the next checkout reconnects.
  pool.on('error', () => {});
  // Neither may one losing it mid-query (a server restart): pg emits 'error' on a checked-out client, which has
  // no listener then, so it would be an uncaught exception. The query itself fails; the pool drops the client.
  // Each connection parses a repeated statement once (prepared.ts); the names are the process's, shared by its pool.
  const names = options.preparedStatements === false ? undefined : statementNames();
  pool.on('connect', (client) => {
    client.on('error', () => {});
    if (names !== undefined) prepareStatements(client, names);
  });
  const signals = createCommitSignals();
  const db = new Kysely<DB>({ dialect: signalingDialect(new PostgresDialect({ pool }), signals) });
  // Other processes (a relay, an inbox worker elsewhere) LISTEN: each burst of commits reaches them as a NOTIFY sent
  // on its own, after the commit. A NOTIFY that fails (the server is away) is lost; their poll catches up.
  let isClosed = false;
  const notifySource = randomUUID();
  const stopNotifying = crossProcessNotifier(
    signals,
    NOTIFY_CHANNELS,
    async (channel) => {
      if (!isClosed) await pool.query('select pg_notify($1, $2)', [channel, notifySource]);
    },
    () => {},
  );
  return {
    db,
    kind: 'postgres',
    url,
    signals,
    notifySource,
    lost: neverLost,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => {
      isClosed = true;
      stopNotifying();
      return db.destroy();
    },
  };
}
