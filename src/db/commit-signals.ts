import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  Kysely,
  QueryResult,
  TransactionSettings,
} from 'kysely';

/**
 * Wake-ups after commit, without NOTIFY inside the writing transaction (issue 11).
 *
 * A NOTIFY in a transaction (what migrations 0004 and 0008's triggers did on every outbox and inbox insert) makes
 * PostgreSQL serialize the commits of all such transactions under one lock held across their WAL flush: every order
 * waited for the previous one's fsync. Measured with pgbench on this machine: 280–330 inserts/s with the trigger,
 * 1,200–2,600/s without. Migration 0016 drops the triggers; instead, the Kysely driver watches what each connection
 * writes and, once the write is committed (the transaction's COMMIT, or the statement itself outside a transaction),
 * emits the table's channel in-process. The in-process relay and inbox worker wake on it at once; on a PostgreSQL
 * server, `crossProcess` also sends one `pg_notify` (coalesced, outside any writing transaction) for processes
 * listening elsewhere.
 */
export type CommitChannel = 'outbox' | 'webhook_inbox';

/** The NOTIFY channel of each table on a PostgreSQL server (the relay and the inbox listener LISTEN on them). */
export const NOTIFY_CHANNELS: Record<CommitChannel, string> = {
  outbox: 'fulcrum_outbox',
  webhook_inbox: 'fulcrum_webhook_inbox',
};

export interface CommitSignals {
  /** Calls `listener` after each commit that inserted into `channel`'s table; returns the unsubscribe. */
  on(channel: CommitChannel, listener: () => void): () => void;
  /** For the driver (and tests): these tables' inserts were committed. */
  emit(channels: Iterable<CommitChannel>): void;
  /**
   * While `handled()` is true, a consumer in this process takes `channel`'s rows (the active outbox relay, an inbox
   * worker): its commits need no NOTIFY to other processes (crossProcessNotifier). Returns the withdrawal.
   */
  handleHere(channel: CommitChannel, handled: () => boolean): () => void;
  /** Whether a consumer here takes `channel`'s rows now. */
  handledHere(channel: CommitChannel): boolean;
}

export function createCommitSignals(): CommitSignals {
  const listeners = new Map<CommitChannel, Set<() => void>>();
  const consumers = new Map<CommitChannel, Set<() => boolean>>();
  return {
    handleHere(channel, handled) {
      let set = consumers.get(channel);
      if (set === undefined) consumers.set(channel, (set = new Set()));
      const own = () => handled(); // a function of its own, so that two registrations of one predicate are two
      set.add(own);
      return () => set.delete(own);
    },
    handledHere(channel) {
      for (const handled of consumers.get(channel) ?? []) if (handled()) return true;
      return false;
    },
    on(channel, listener) {
      let set = listeners.get(channel);
      if (set === undefined) listeners.set(channel, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
    emit(channels) {
      for (const channel of channels) for (const listener of listeners.get(channel) ?? []) listener();
    },
  };
}

const INSERT_INTO = /\binsert\s+into\s+"?(outbox|webhook_inbox)"?[\s(]/gi;

/** The channels whose tables a statement inserts into (data-modifying CTEs included). */
export function insertedChannels(sqlText: string): readonly CommitChannel[] {
  let channels = seen.get(sqlText);
  if (channels === undefined) {
    const found = new Set<CommitChannel>();
    for (const match of sqlText.matchAll(INSERT_INTO)) found.add(match[1]!.toLowerCase() as CommitChannel);
    channels = [...found];
    // The texts an app sends are few and repeat (every statement passes here): remembered, within a bound.
    if (seen.size >= SEEN_LIMIT) seen.clear();
    seen.set(sqlText, channels);
  }
  return channels;
}

const SEEN_LIMIT = 1000;
const seen = new Map<string, readonly CommitChannel[]>();

/** `inner` whose driver emits on `signals` after each commit that inserted into a watched table. */
export function signalingDialect(inner: Dialect, signals: CommitSignals): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createDriver: () => new SignalingDriver(inner.createDriver(), signals),
    createIntrospector: (db: Kysely<unknown>) => inner.createIntrospector(db),
    createQueryCompiler: () => inner.createQueryCompiler(),
  };
}

/** What a connection inserted in its open transaction (undefined: none open). */
const pending = new WeakMap<DatabaseConnection, Set<CommitChannel>>();

class SignalingConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;
  readonly #signals: CommitSignals;
  constructor(inner: DatabaseConnection, signals: CommitSignals) {
    this.inner = inner;
    this.#signals = signals;
  }
  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.inner.executeQuery<R>(compiled);
    const channels = insertedChannels(compiled.sql);
    if (channels.length > 0) {
      const open = pending.get(this);
      if (open === undefined) this.#signals.emit(channels);
      else for (const channel of channels) open.add(channel);
    }
    return result;
  }
  streamQuery<R>(compiled: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(compiled, chunkSize);
  }
}

class SignalingDriver implements Driver {
  readonly #inner: Driver;
  readonly #signals: CommitSignals;
  readonly #wrapped = new WeakMap<DatabaseConnection, SignalingConnection>();
  constructor(inner: Driver, signals: CommitSignals) {
    this.#inner = inner;
    this.#signals = signals;
  }
  init(): Promise<void> {
    return this.#inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.#inner.acquireConnection();
    let wrapped = this.#wrapped.get(connection);
    if (wrapped === undefined) {
      wrapped = new SignalingConnection(connection, this.#signals);
      this.#wrapped.set(connection, wrapped);
    }
    return wrapped;
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await this.#inner.beginTransaction(innerOf(connection), settings);
    pending.set(connection, new Set());
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const inserted = pending.get(connection);
    pending.delete(connection);
    await this.#inner.commitTransaction(innerOf(connection));
    if (inserted !== undefined && inserted.size > 0) this.#signals.emit(inserted);
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    pending.delete(connection);
    await this.#inner.rollbackTransaction(innerOf(connection));
  }
  async savepoint(connection: DatabaseConnection, name: string, compile: Parameters<Required<Driver>['savepoint']>[2]) {
    await this.#inner.savepoint?.(innerOf(connection), name, compile);
  }
  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: Parameters<Required<Driver>['rollbackToSavepoint']>[2],
  ) {
    // What was inserted since the savepoint may be undone; waking for nothing costs one empty pass.
    await this.#inner.rollbackToSavepoint?.(innerOf(connection), name, compile);
  }
  async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: Parameters<Required<Driver>['releaseSavepoint']>[2],
  ) {
    await this.#inner.releaseSavepoint?.(innerOf(connection), name, compile);
  }
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    pending.delete(connection);
    return this.#inner.releaseConnection(innerOf(connection));
  }
  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

function innerOf(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof SignalingConnection ? connection.inner : connection;
}

/**
 * Sends `pg_notify(channel)` for each emitted channel through `notify`, at most one in flight per channel: signals
 * that come while one is in flight make one more after it. A burst of commits costs a couple of NOTIFYs, each its own
 * transaction that writes nothing, so it serializes no commit. None while a consumer in this process takes the
 * channel's rows (handleHere): the NOTIFY would wake only processes that have nothing to do with them.
 */
export function crossProcessNotifier(
  signals: CommitSignals,
  names: Record<CommitChannel, string>,
  notify: (name: string) => Promise<void>,
  onError: (error: unknown) => void,
): () => void {
  const unsubscribers = (Object.keys(names) as CommitChannel[]).map((channel) => {
    let inFlight = false;
    let again = false;
    const send = (): void => {
      if (signals.handledHere(channel)) return; // taken here: other processes need not wake
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      again = false;
      notify(names[channel])
        .catch(onError)
        .finally(() => {
          inFlight = false;
          if (again) send();
        });
    };
    return signals.on(channel, send);
  });
  return () => {
    for (const off of unsubscribers) off();
  };
}
