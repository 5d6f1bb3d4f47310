import type pg from 'pg';

/**
 * Named (prepared) statements on a PostgreSQL server (issue 11). Kysely sends every statement unnamed, so the server
 * parses, analyses and plans it on every execution: a CPU profile of PostgreSQL under the order benchmark spent a third
 * of its time there (perf: parse + analyse + plan ≈ 19 % of 59 %). A pool client wrapped here sends a statement it
 * has seen before by name, so each connection parses it once and PostgreSQL may keep a generic plan.
 *
 * Which statements: the same text gets the same name in every connection of the process (at most `limit` texts, first
 * come; the rest go unnamed, so statements built with a varying number of parameters cannot fill the server's memory).
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
}

const WHOLE_ROW = /\b(?:select|returning)\s+\*|"\w+"\.\*/i;
const MAX_TEXT = 20_000;

export function statementNames(limit = 200): StatementNames {
  const names = new Map<string, string>();
  return {
    nameOf(text) {
      const known = names.get(text);
      if (known !== undefined) return known;
      if (names.size >= limit || text.length > MAX_TEXT || WHOLE_ROW.test(text)) return undefined;
      const name = `fulcrum_${names.size + 1}`;
      names.set(text, name);
      return name;
    },
    get size() {
      return names.size;
    },
  };
}

type QueryFn = (...args: unknown[]) => unknown;

/** Makes `client.query(text, values)` — how Kysely's driver calls it — send the text as a named statement. */
export function prepareStatements(client: pg.PoolClient, names: StatementNames): void {
  const original = client.query.bind(client) as QueryFn;
  const query: QueryFn = (config, values, callback) => {
    if (typeof config === 'string' && (values === undefined || Array.isArray(values))) {
      const name = names.nameOf(config);
      if (name !== undefined) return original({ name, text: config, values }, callback);
    }
    return original(config, values, callback);
  };
  (client as unknown as { query: QueryFn }).query = query;
}
