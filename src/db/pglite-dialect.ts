import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { PGliteQuery } from './pglite-statements.ts';
import type { PGliteHandle } from './pglite-thread.ts';

/**
 * Kysely over PGlite. PGlite is one session, so the driver hands out one connection at a time:
 * a transaction holds it until commit or rollback and every other query waits its turn.
 * PGlite runs in process or on a thread of its own (pglite-thread.ts); in process, `inProcess(pglite, names)` sends a
 * repeated statement by name (pglite-statements.ts).
 */
export class PGliteDialect implements Dialect {
  readonly #pglite: PGliteHandle;
  constructor(pglite: PGliteHandle) {
    this.#pglite = pglite;
  }
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.#pglite);
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

/**
 * One use of PGlite's one session: a single statement, or a transaction's statements. A statement outside a
 * transaction is sent at once, in the order made, unless a transaction is open: it waits for that to end, as it must
 * not run inside it.
 */
class PGliteConnection implements DatabaseConnection {
  readonly #driver: PGliteDriver;
  constructor(driver: PGliteDriver) {
    this.#driver = driver;
  }
  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#driver.send<R>(this, compiled);
    const affected = result.affectedRows;
    return affected === undefined ? { rows: result.rows } : { rows: result.rows, numAffectedRows: BigInt(affected) };
  }
  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not stream query results');
  }
}

/**
 * PGlite is one session and answers statements in the order they reach it. Statements outside a transaction do not
 * wait for each other's answers (issue 11: with PGlite on its own thread, the next is on its way while one runs);
 * a transaction has the session to itself from its begin to its commit or rollback: its begin waits for the answers
 * to the statements sent before it, and statements of others (and a second begin) wait for its end.
 */
class PGliteDriver implements Driver {
  readonly #pglite: PGliteHandle;
  readonly #query: PGliteQuery;
  /** The connection whose transaction is open, and the end of that transaction. */
  #owner: PGliteConnection | undefined;
  #ended: Promise<void> = Promise.resolve();
  #end: () => void = () => {};
  /** Statements outside a transaction sent and not answered yet: a transaction begins once they are. */
  readonly #outside = new Set<Promise<void>>();
  /** Connections handed out and not released yet (a statement, or a transaction, in hand): close waits for them. */
  readonly #inUse = new Map<DatabaseConnection, () => void>();
  readonly #released = new Set<Promise<void>>();

  constructor(pglite: PGliteHandle) {
    this.#pglite = pglite;
    this.#query = pglite.query;
  }
  async init(): Promise<void> {
    // PGlite.create (in process) and startPGliteThread resolve once PGlite is ready.
  }
  acquireConnection(): Promise<DatabaseConnection> {
    const connection = new PGliteConnection(this);
    const released = new Promise<void>((resolve) => {
      this.#inUse.set(connection, resolve);
    });
    this.#released.add(released);
    void released.then(() => this.#released.delete(released));
    return Promise.resolve(connection);
  }
  async send<R>(connection: PGliteConnection, compiled: CompiledQuery) {
    while (this.#owner !== undefined && this.#owner !== connection) await this.#ended;
    // From here to the query's call nothing awaits: a statement outside a transaction counts as sent before any
    // begin that comes after it, even though its own exchange may still be on its way (a name to prepare first).
    const answer = this.#query<R>(compiled.sql, compiled.parameters);
    if (this.#owner !== connection) {
      const settled = answer.then(
        () => undefined,
        () => undefined,
      );
      this.#outside.add(settled);
      void settled.then(() => this.#outside.delete(settled));
    }
    return answer;
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    while (this.#owner !== undefined) await this.#ended;
    this.#owner = connection as PGliteConnection;
    this.#ended = new Promise<void>((resolve) => {
      this.#end = resolve;
    });
    // Statements sent before it are answered before its begin is sent, so none of them can land inside it.
    while (this.#outside.size > 0) await Promise.all(this.#outside);
    const level = settings.isolationLevel ? ` isolation level ${settings.isolationLevel}` : '';
    try {
      await connection.executeQuery(CompiledQuery.raw(`begin${level}`));
    } catch (error) {
      this.#endTransaction(connection);
      throw error;
    }
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('commit'));
    } finally {
      this.#endTransaction(connection);
    }
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('rollback'));
    } finally {
      this.#endTransaction(connection);
    }
  }
  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${name}`));
  }
  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${name}`));
  }
  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${name}`));
  }
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    this.#endTransaction(connection);
    this.#inUse.get(connection)?.();
    this.#inUse.delete(connection);
    return Promise.resolve();
  }
  #endTransaction(connection: DatabaseConnection): void {
    if (this.#owner !== connection) return;
    this.#owner = undefined;
    this.#end();
  }
  async destroy(): Promise<void> {
    while (this.#released.size > 0) await Promise.all(this.#released);
    if (!this.#pglite.closed) await this.#pglite.close();
  }
}
