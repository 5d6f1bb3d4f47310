import { Worker } from 'node:worker_threads';
import { PGlite, type Results } from '@electric-sql/pglite';
import { PGLITE_WAL_SETTINGS } from './pglite-checkpoints.ts';
import { pgliteQuery, type PGliteQuery } from './pglite-statements.ts';
import type { StatementNames } from './prepared.ts';

const INT8_OID = 20;

/** PGlite as Fulcrum opens it, on whichever thread: its files (none: in memory), parsers and start parameters. */
export function createPGlite(dataDir: string | undefined): Promise<PGlite> {
  return PGlite.create({
    ...(dataDir === undefined ? {} : { dataDir }),
    // Counters and sums fit in a double for any real shop; numeric stays a string.
    parsers: { [INT8_OID]: (v: string) => Number(v) },
    startParams: [...PGlite.defaultStartParams, ...PGLITE_WAL_SETTINGS],
  });
}

/** What the PGlite dialect needs of PGlite, wherever it runs: its statements, and closing it. */
export interface PGliteHandle {
  query: PGliteQuery;
  readonly closed: boolean;
  close(): Promise<void>;
}

/** PGlite on the calling thread. */
export function inProcess(pglite: PGlite, names?: StatementNames): PGliteHandle {
  const query = pgliteQuery(pglite, names);
  return {
    // `new PGlite()` returns before it is ready (PGlite.create after): its first statement waits.
    query: async (text, values) => {
      await pglite.waitReady;
      return query(text, values);
    },
    get closed() {
      return pglite.closed;
    },
    close: () => pglite.close(),
  };
}

export interface PGliteThread extends PGliteHandle {
  /** The thread, for tests that stop it. */
  readonly worker: Worker;
}

export interface PGliteThreadOptions {
  /** PGlite's files; undefined: in memory. */
  dataDir: string | undefined;
  /** Repeated statements sent by name (pglite-statements.ts). */
  preparedStatements: boolean;
}

export type Request =
  { id: number; close?: false; text: string; values: readonly unknown[] } | { id: number; close: true };
interface Answer {
  rows: unknown[];
  affectedRows?: number;
}
export type Reply = { id: number; result: Answer; error?: undefined } | { id: number; error: ErrorShape };
interface ErrorShape {
  message: string;
  fields: Record<string, unknown>;
}

/** An error as values: its message and own fields (a DatabaseError's code, constraint, detail …), which cross threads. */
export function describeError(error: unknown): ErrorShape {
  if (!(error instanceof Error)) return { message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === undefined || typeof value === 'function') continue;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) continue;
    fields[key] = value;
  }
  return { message: error.message, fields };
}

function rebuildError(shape: ErrorShape): Error {
  return Object.assign(new Error(shape.message), shape.fields);
}

/**
 * PGlite on a thread of its own (issue 11). PGlite runs on the thread that calls it and its WebAssembly holds that
 * thread for as long as a statement runs: in process, the HTTP server's JavaScript and the database take turns on one
 * core. Here PGlite lives in a worker thread (pglite-thread-worker.ts) and the main thread only sends statements and
 * reads answers, so a request is parsed, checked and answered while the database runs another's statement.
 *
 * Statements are answered in the order sent; the dialect's one connection keeps a transaction's statements together,
 * as in process. An error keeps its message and fields (SQLSTATE `code`, `constraint`, …), not its class. If the
 * thread dies, every statement waiting and every later one fails, and `closed` turns true.
 */
export async function startPGliteThread(options: PGliteThreadOptions): Promise<PGliteThread> {
  const worker = new Worker(new URL('./pglite-thread-worker.ts', import.meta.url), { workerData: options });
  const waiting = new Map<number, { resolve: (answer: Answer) => void; reject: (error: Error) => void }>();
  let next = 1;
  let stopped: Error | undefined;

  const ready = new Promise<void>((resolve, reject) => {
    waiting.set(0, { resolve: () => resolve(), reject });
  });
  worker.on('message', (reply: Reply) => {
    const pending = waiting.get(reply.id);
    if (pending === undefined) return;
    waiting.delete(reply.id);
    if (reply.error !== undefined) pending.reject(rebuildError(reply.error));
    else pending.resolve(reply.result);
    settled();
  });
  const fail = (error: Error) => {
    stopped ??= error;
    for (const pending of waiting.values()) pending.reject(stopped);
    waiting.clear();
  };
  worker.on('error', (error: Error) => fail(new Error(`PGlite's thread failed: ${error.message}`, { cause: error })));
  worker.on('exit', (code) => fail(new Error(`PGlite's thread stopped (exit code ${code})`)));

  // The thread keeps the process alive only while a statement waits for its answer, as PGlite in process would.
  const settled = () => {
    if (waiting.size === 0) worker.unref();
  };
  const send = (request: Request): Promise<Answer> => {
    if (stopped !== undefined) return Promise.reject(stopped);
    if (waiting.size === 0) worker.ref();
    return new Promise<Answer>((resolve, reject) => {
      waiting.set(request.id, { resolve, reject });
      worker.postMessage(request);
    });
  };

  try {
    await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  settled();

  let closing: Promise<void> | undefined;
  return {
    worker,
    async query<R>(text: string, values: readonly unknown[]): Promise<Results<R>> {
      const answer = await send({ id: next++, text, values });
      return answer as Results<R>;
    },
    get closed() {
      return stopped !== undefined || closing !== undefined;
    },
    close() {
      closing ??= (async () => {
        if (stopped === undefined) {
          try {
            await send({ id: next++, close: true });
          } finally {
            // What PGlite itself says to a statement after close.
            stopped ??= new Error('PGlite is closed');
            await worker.terminate();
          }
        }
      })();
      return closing;
    },
  };
}
