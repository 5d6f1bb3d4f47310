/** The bench's settings from its environment and arguments (see bench/README.md). */

export const ROWS = ['startup', 'catalog', 'orders', 'webhooks', 'sequences', 'drain', 'reset', 'soak'] as const;
export type Row = (typeof ROWS)[number];

export interface Options {
  rows: Set<Row>;
  quick: boolean;
  databaseUrl: string | undefined;
  /** PGlite (no databaseUrl) with its files on disk, Fulcrum's default, rather than in memory. */
  pgliteFiles: boolean;
  /** Seconds of each closed-loop row; its warm-up is a quarter of it (at least 1 s). */
  seconds: number;
  /** Rounds of the HTTP rows, each after its own ceiling (BENCH_HTTP_ROUNDS; default 3, quick 1). */
  httpRounds: number;
  /** Payments of each webhook row at `rate`, and of the backlog. */
  payments: number;
  rate: number;
  /**
   * Payments sent before each webhook row's `payments`, at its rate in the same stream, not counted
   * (BENCH_WARM_PAYMENTS; default a quarter of `payments`, at least one second's worth; 0: none).
   */
  warmPayments: number;
  backlog: number;
  orderLines: number;
  starts: number;
  soakSeconds: number;
  /** Orders a second the soak asks for; undefined: half the peak, measured first (so that two runs can ask alike). */
  soakRate: number | undefined;
  profile: boolean;
}

function count(env: Record<string, string | undefined>, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number ≥ ${min}, not ${raw}`);
  return value;
}

/**
 * BENCH_ONLY is a comma-separated list of rows (the old single names still work); without it every row runs but
 * the soak. `--soak` alone runs the soak alone (with BENCH_ONLY, adds it).
 */
export function parseOptions(env: Record<string, string | undefined>, argv: readonly string[]): Options {
  const soak = argv.includes('--soak');
  const only = (env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const name of only) {
    if (!(ROWS as readonly string[]).includes(name)) {
      throw new Error(`BENCH_ONLY: unknown row ${name} (rows: ${ROWS.join(', ')})`);
    }
  }
  let rows: Set<Row>;
  if (only.length > 0) rows = new Set(only as Row[]);
  else if (soak) rows = new Set();
  else rows = new Set(ROWS.filter((r) => r !== 'soak'));
  if (soak) rows.add('soak');
  const quick = env.BENCH_QUICK === '1';
  const payments = count(env, 'BENCH_PAYMENTS', quick ? 200 : 1000);
  const paymentRate = count(env, 'BENCH_RATE', 200);
  return {
    rows,
    quick,
    databaseUrl: env.BENCH_DATABASE_URL === '' ? undefined : env.BENCH_DATABASE_URL,
    pgliteFiles: env.BENCH_PGLITE_FILES === '1',
    seconds: count(env, 'BENCH_SECONDS', quick ? 3 : 10),
    httpRounds: count(env, 'BENCH_HTTP_ROUNDS', quick ? 1 : 3),
    payments,
    rate: paymentRate,
    warmPayments: count(env, 'BENCH_WARM_PAYMENTS', Math.max(Math.ceil(payments / 4), paymentRate), 0),
    backlog: count(env, 'BENCH_BACKLOG', quick ? 300 : 2000),
    orderLines: count(env, 'BENCH_ORDER_LINES', 1),
    starts: count(env, 'BENCH_STARTS', quick ? 1 : 3),
    soakSeconds: count(env, 'BENCH_SOAK_SECONDS', 600),
    soakRate:
      env.BENCH_SOAK_RATE === undefined || env.BENCH_SOAK_RATE === '' ? undefined : count(env, 'BENCH_SOAK_RATE', 1),
    profile: env.BENCH_PROFILE === '1',
  };
}

/** The database the header line names. */
export function databaseName(o: Pick<Options, 'databaseUrl' | 'pgliteFiles'>): string {
  if (o.databaseUrl !== undefined) return 'PostgreSQL';
  return o.pgliteFiles ? 'PGlite (files in DATA_DIR)' : 'PGlite (memory)';
}
