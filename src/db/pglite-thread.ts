import { Worker } from 'node:worker_threads';
import { messages as messages_, PGlite, protocol, types, type Results } from '@electric-sql/pglite';
import { PGLITE_WAL_SETTINGS } from './pglite-checkpoints.ts';
import { PGLITE_ANALYZE_SETTINGS } from './pglite-vacuum.ts';
import {
  forgetIfPlanChanged,
  frames,
  namedStatements,
  pgliteQuery,
  type BackendMessage,
  type PGliteQuery,
  type TypeParsers,
} from './pglite-statements.ts';
import { statementNames, type StatementNames } from './prepared.ts';
import { INT8_OID } from './schema.ts';

const int8 = (v: string) => Number(v);

/**
 * A protocol exchange's answer as PGlite's bytes, unparsed, under PGlite's query lock (so it never lands between the
 * steps of a PGlite.query) and synced to the files after. Not PGlite's execProtocolRaw: in PGlite 0.5 that also parses
 * every answer into a list of messages that only its execProtocol empties, so a thread calling it on its own kept
 * every message it ever answered (≈ 0.5 KB a statement; found by the soak: RSS +1.2 GB over 1.2 M statements).
 */
export async function rawAnswer(pglite: PGlite, message: Uint8Array): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await pglite.runExclusive(() =>
    pglite.execProtocolRawStream(message, {
      syncToFs: true,
      // A view of PGlite's WebAssembly memory, which its next write reuses: copied.
      onRawData: (chunk) => chunks.push(chunk.slice()),
    }),
  );
  return chunks.length === 1 ? chunks[0]! : frames(...chunks);
}

/** The array types whose serializers and parsers PGlite.create adds to its own (PGlite 0.5's _initArrayTypes). */
export const ARRAY_TYPES = `
  select b.oid, b.typarray
  from pg_catalog.pg_type a
  left join pg_catalog.pg_type b on b.oid = a.typelem
  where a.typcategory = 'A'
  group by b.oid, b.typarray
  order by b.oid`;

/** PGlite as Fulcrum opens it, on whichever thread: its files (none: in memory), parsers and start parameters. */
export function createPGlite(dataDir: string | undefined): Promise<PGlite> {
  return PGlite.create({
    ...(dataDir === undefined ? {} : { dataDir }),
    // bigint as a number (schema.ts, INT8_OID); numeric stays a string.
    parsers: { [INT8_OID]: int8 },
    startParams: [...PGlite.defaultStartParams, ...PGLITE_WAL_SETTINGS, ...PGLITE_ANALYZE_SETTINGS],
  });
}

/** What the PGlite dialect needs of PGlite, wherever it runs: its statements, and closing it. */
export interface PGliteHandle {
  query: PGliteQuery;
  readonly closed: boolean;
  close(): Promise<void>;
  /**
   * Settles with the reason if PGlite is gone for good without being closed (its thread died): nothing this process
   * does can bring it back. Never settles in process, where PGlite's failures are the statement's own.
   */
  readonly lost: Promise<Error>;
}

/** A promise that never settles: what `lost` is where PGlite cannot be lost apart from this process. */
export const neverLost: Promise<Error> = new Promise<Error>(() => {});

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
    lost: neverLost,
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
  | { id: number; kind: 'query'; text: string; values: readonly unknown[] }
  | { id: number; kind: 'protocol'; message: Uint8Array }
  | { id: number; kind: 'close' };
interface Answer {
  rows: unknown[];
  affectedRows?: number;
}
export type Reply =
  | { id: number; result: Answer; bytes?: undefined; error?: undefined }
  | { id: number; bytes: Uint8Array; result?: undefined; error?: undefined }
  | { id: number; error: ErrorShape; result?: undefined; bytes?: undefined };
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

/** PGlite's own serializers and parsers, built as PGlite.create builds them (createPGlite's int8 parser included). */
function typeCodecs(arrayTypes: readonly { oid: number; typarray: number }[]) {
  const serializers: PGlite['serializers'] = { ...types.serializers };
  const parsers: TypeParsers = { ...types.parsers, [INT8_OID]: int8 };
  for (const { oid, typarray } of arrayTypes) {
    serializers[typarray] = (value: unknown) => types.arraySerializer(value, serializers[oid], typarray);
    parsers[typarray] = (text: string): unknown => types.arrayParser(text, parsers[oid]!, typarray);
  }
  return { serializers, parsers };
}

/**
 * The thread's messages: each request answered once by id; if the thread ends, every waiting request fails. Exported
 * for its test, which stands a fake in for the thread to end it mid-statement: a test must not terminate a real one
 * whose PGlite is open (Node 24's V8 can then abort the whole process: "Check failed: jit_page…", seen under load).
 */
export function connect(worker: Pick<Worker, 'on' | 'postMessage' | 'ref' | 'unref'>) {
  const waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  let next = 1;
  /** `closing`: close() asked the thread to stop, so its end is not a loss. */
  const state: { stopped: Error | undefined; closing: boolean } = { stopped: undefined, closing: false };
  let onLost: (error: Error) => void = () => {};
  const lost = new Promise<Error>((resolve) => (onLost = resolve));

  const ready = new Promise<Reply>((resolve, reject) => {
    waiting.set(0, { resolve, reject });
  });
  // The thread keeps the process alive only while something waits for its answer, as PGlite in process would.
  const settled = () => {
    if (waiting.size === 0) worker.unref();
  };
  worker.on('message', (reply: Reply) => {
    const pending = waiting.get(reply.id);
    if (pending === undefined) return;
    waiting.delete(reply.id);
    if (reply.error !== undefined) pending.reject(rebuildError(reply.error));
    else pending.resolve(reply);
    settled();
  });
  const fail = (error: Error) => {
    state.stopped ??= error;
    for (const pending of waiting.values()) pending.reject(state.stopped);
    waiting.clear();
    if (!state.closing) onLost(state.stopped);
  };
  worker.on('error', (error: Error) => fail(new Error(`PGlite's thread failed: ${error.message}`, { cause: error })));
  worker.on('exit', (code) => fail(new Error(`PGlite's thread stopped (exit code ${code})`)));

  type Sent = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
  const send = (request: Sent, transfer: ArrayBuffer[] = []): Promise<Reply> => {
    if (state.stopped !== undefined) return Promise.reject(state.stopped);
    if (waiting.size === 0) worker.ref();
    const id = next++;
    return new Promise<Reply>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...request, id }, transfer);
    });
  };
  return { ready, send, settled, state, lost };
}

/**
 * PGlite on a thread of its own (issue 11). PGlite runs on the thread that calls it and its WebAssembly holds that
 * thread for as long as a statement runs: in process, the HTTP server's JavaScript and the database take turns on one
 * core. Here PGlite lives in a worker thread (pglite-thread-worker.ts) and the main thread only sends statements and
 * reads answers, so a request is parsed, checked and answered while the database runs another's statement.
 *
 * A statement sent before goes by name as protocol messages built here (pglite-statements.ts); PGlite's thread runs
 * them and hands back its answer's bytes, which are parsed here, with PGlite's own parsers: the thread does only the
 * database's work (cloning rows across was 7 % of its time in a profile). A text sent once goes through PGlite.query
 * on the thread and its rows cross as values.
 *
 * Statements are answered in the order sent; the dialect keeps a transaction's statements together, as in process.
 * An error keeps its message and fields (SQLSTATE `code`, `constraint`, …); one from a named statement is pg-protocol's
 * DatabaseError, as in process. If the thread dies, every statement waiting and every later one fails, `closed`
 * turns true and `lost` settles (main.ts then stops the process, so that a supervisor starts a new one).
 */
export async function startPGliteThread(options: PGliteThreadOptions): Promise<PGliteThread> {
  const worker = new Worker(new URL('./pglite-thread-worker.ts', import.meta.url), { workerData: options });
  const { ready, send, settled, state, lost } = connect(worker);

  let arrayTypes: { oid: number; typarray: number }[];
  try {
    arrayTypes = (await ready).result!.rows as typeof arrayTypes;
  } catch (error) {
    state.closing = true;
    await worker.terminate();
    throw error;
  }
  settled();

  const { serializers, parsers } = typeCodecs(arrayTypes);
  // One parser for every answer: each holds whole messages, as PGlite answers a Sync-ended exchange whole.
  const parser = new protocol.Parser();
  const named = namedStatements({
    serializers,
    parsers,
    async exchange(message) {
      const { bytes } = await send({ kind: 'protocol', message }, [message.buffer as ArrayBuffer]);
      const messages: BackendMessage[] = [];
      parser.parse(bytes!, (parsed) => messages.push(parsed));
      const error = messages.find((m) => m instanceof messages_.DatabaseError);
      if (error !== undefined) throw error;
      return messages;
    },
  });
  const names = options.preparedStatements ? statementNames({ wholeRows: true }) : undefined;

  let closing: Promise<void> | undefined;
  return {
    worker,
    lost,
    async query<R>(text: string, values: readonly unknown[]): Promise<Results<R>> {
      const name = names?.nameOf(text);
      if (name !== undefined && state.stopped === undefined)
        return forgetIfPlanChanged(names!, named<R>(name, text, values));
      const { result } = await send({ kind: 'query', text, values });
      return result as Results<R>;
    },
    get closed() {
      return state.stopped !== undefined || state.closing;
    },
    close() {
      closing ??= (async () => {
        state.closing = true;
        if (state.stopped === undefined) {
          try {
            await send({ kind: 'close' });
          } finally {
            // What PGlite itself says to a statement after close.
            state.stopped ??= new Error('PGlite is closed');
            await worker.terminate();
          }
        }
      })();
      return closing;
    },
  };
}
