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
 * Never a statement whose result has a table's every column (`select *`, `returning *`, `"t".*`): a prepared statement
 * whose result columns change under it — a migration adding a column while an older process runs — fails with
 * "cached plan must not change result type"; a statement naming its columns is re-planned by the server and goes on.
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
}

const WHOLE_ROW = /\b(?:select|returning)\s+\*|"\w+"\.\*/i;
const MAX_TEXT = 20_000;

export function statementNames(limit = 200, seenLimit = 500): StatementNames {
  const names = new Map<string, string>();
  // Texts sent once so far; emptied when full, so texts that never repeat cannot grow it without bound.
  let seen = new Set<string>();
  let stopped = false;
  return {
    nameOf(text) {
      if (stopped) return undefined;
      const known = names.get(text);
      if (known !== undefined) return known;
      if (names.size >= limit || text.length > MAX_TEXT || WHOLE_ROW.test(text)) return undefined;
      if (!seen.has(text)) {
        if (seen.size >= seenLimit) seen = new Set();
        seen.add(text);
        return undefined;
      }
      seen.delete(text);
      const name = `fulcrum_${names.size + 1}`;
      names.set(text, name);
      return name;
    },
    get size() {
      return names.size;
    },
    stop() {
      stopped = true;
    },
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
          throw error;
        });
      }
    }
    return original(config, values, callback);
  };
  (client as unknown as { query: QueryFn }).query = query;
}
