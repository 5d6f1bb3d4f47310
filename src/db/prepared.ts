import type pg from 'pg';

/**
 * Named (prepared) statements on a PostgreSQL server (issue 11). Kysely sends every statement unnamed, so the server
 * parses, analyses and plans it on every execution: a CPU profile of PostgreSQL under the order benchmark spent a third
 * of its time there (perf: parse + analyse + plan ≈ 19 % of 59 %). A pool client wrapped here sends a statement it
 * has seen before by name, so each connection parses it once and PostgreSQL may keep a generic plan.
 *
 * Which statements: a text the process sends a second time gets a name, the same in every connection of the process
 * (at most `limit` texts, first come; the rest go unnamed, so statements built with a varying number of parameters
 * cannot fill the server's memory). A text sent once — a migration's DDL, a one-off script's query — never takes one
 * of those names (a start-up's migrations send ~90 texts once each).
 * On a server, never a statement whose result has a table's every column (`select *`, `returning *`, `"t".*`): a
 * prepared statement whose result columns change under it — a migration adding a column while an older process runs —
 * fails with "cached plan must not change result type"; a statement naming its columns is re-planned by the server and
 * goes on. PGlite is this process's alone (the DATA_DIR lock; memory:// is the process's own), so no other process
 * migrates under it: there `wholeRows` names those too, and the names are forgotten whenever this process sends
 * something that may change a table (`create`, `alter`, `drop`, … — its migrations), so a text is prepared again
 * against the new columns. Either way a statement that still meets that error (planChanged) forgets every name.
 *
 * Off with DATABASE_PREPARED_STATEMENTS=false: for a connection pooler that does not carry named statements between
 * server connections (PgBouncer in transaction mode before 1.21, or without max_prepared_statements).
 */
export interface StatementNames {
  /** The name of this text, or undefined: send it unnamed. */
  nameOf(text: string): string | undefined;
  readonly size: number;
  /** From now on every statement goes unnamed (the server side does not keep our names: see prepareStatements). */
  stop(): void;
  /** Every text is new again, and gets a name never given before (tables changed: a text must be prepared anew). */
  forget(): void;
}

export interface StatementNamesOptions {
  /** Texts named at most (default 200); past it, new texts go unnamed. */
  limit?: number;
  /** Texts seen once remembered at most (default 500). */
  seenLimit?: number;
  /** Name whole-row statements too, forgetting every name after a statement that may change a table (PGlite). */
  wholeRows?: boolean;
}

const WHOLE_ROW = /\b(?:select|returning)\s+\*|"\w+"\.\*/i;
/** A statement that may change what a table's rows hold: DDL, and `do` blocks, which may run it. */
const MAY_CHANGE_TABLES =
  /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*(?:create|alter|drop|truncate|comment|do|import|reindex|grant|revoke|security)\b/i;
const MAX_TEXT = 20_000;
/**
 * A named statement whose tables changed under it since it was prepared: "cached plan must not change result type"
 * (SQLSTATE 0A000, which other unsupported features share, so the message is checked too).
 */
export function planChanged(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}

export function statementNames(options: StatementNamesOptions = {}): StatementNames {
  const { limit = 200, seenLimit = 500, wholeRows = false } = options;
  let names = new Map<string, string>();
  // Texts sent once so far; emptied when full, so texts that never repeat cannot grow it without bound.
  let seen = new Set<string>();
  let stopped = false;
  // Names are never given twice: after forget() a session may still hold a statement by an old name.
  let given = 0;
  const forget = () => {
    names = new Map();
    seen = new Set();
  };
  return {
    nameOf(text) {
      if (stopped) return undefined;
      const known = names.get(text);
      if (known !== undefined) return known;
      if (wholeRows && MAY_CHANGE_TABLES.test(text)) {
        forget();
        return undefined;
      }
      if (names.size >= limit || text.length > MAX_TEXT || (!wholeRows && WHOLE_ROW.test(text))) return undefined;
      if (!seen.has(text)) {
        if (seen.size >= seenLimit) seen = new Set();
        seen.add(text);
        return undefined;
      }
      seen.delete(text);
      given += 1;
      const name = `fulcrum_${given}`;
      names.set(text, name);
      return name;
    },
    get size() {
      return names.size;
    },
    stop() {
      stopped = true;
    },
    forget,
  };
}

type QueryFn = (...args: unknown[]) => unknown;

/**
 * SQLSTATEs that say the server session does not hold what this connection prepared: 26000 (no such prepared
 * statement), 42P05 (one of that name exists already). They come from something between us and PostgreSQL that hands
 * one client several server sessions, or several clients one session (a pooler in transaction mode, a proxy): naming
 * stops for the whole process, so that statement fails once and every later one goes unnamed.
 */
const SESSION_NOT_OURS = new Set(['26000', '42P05']);

/** Makes `client.query(text, values)` — how Kysely's driver calls it — send the text as a named statement. */
export function prepareStatements(client: pg.PoolClient, names: StatementNames): void {
  const original = client.query.bind(client) as QueryFn;
  const query: QueryFn = (config, values, callback) => {
    if (typeof config === 'string' && callback === undefined && (values === undefined || Array.isArray(values))) {
      const name = names.nameOf(config);
      if (name !== undefined) {
        return (original({ name, text: config, values }) as Promise<unknown>).catch((error: unknown) => {
          const code = (error as { code?: unknown } | null)?.code;
          if (typeof code === 'string' && SESSION_NOT_OURS.has(code)) names.stop();
          if (planChanged(error)) names.forget();
          throw error;
        });
      }
    }
    return original(config, values, callback);
  };
  (client as unknown as { query: QueryFn }).query = query;
}
