/** Formatting of the bench's rows: rates, latencies, ratios to a ceiling, the generator's CPU share. */

export interface Measured {
  /** Successful operations a second. */
  rps: number;
  p50: number;
  p99: number;
  non2xx?: number;
  errors?: number;
  /** The load generator's (or the ceiling process's) CPU share: 1 = one core. */
  cpuShare?: number;
}

export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–';
  if (perSecond >= 10_000) return `${(perSecond / 1000).toFixed(1)} k/s`;
  return `${perSecond.toFixed(0)}/s`;
}

export function millis(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/** `a / b` as `0.42×`, or `–` when either is missing. */
export function times(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

export function percent(share: number | undefined): string {
  return share === undefined || !Number.isFinite(share) ? '–' : `${(share * 100).toFixed(0)} %`;
}

/** Failed answers, said out loud: `` when none, else `  ⚠ 12 non-2xx, 3 errors`. */
export function failures(m: Measured): string {
  const parts: string[] = [];
  if (m.rps === 0) parts.push('nothing completed');
  if ((m.non2xx ?? 0) > 0) parts.push(`${m.non2xx} non-2xx`);
  if ((m.errors ?? 0) > 0) parts.push(`${m.errors} errors`);
  return parts.length === 0 ? '' : `  ⚠ ${parts.join(', ')}`;
}

/**
 * One row: the label, the throughput as a ratio to its ceiling with both absolute figures beside it, p50/p99
 * (and the ceiling's), the generator's CPU share and any failures.
 */
export function formatRow(label: string, m: Measured, ceiling?: Measured & { label: string }): string {
  const cells = [
    label.padEnd(44),
    rate(m.rps).padStart(9),
    `p50 ${millis(m.p50)}`.padStart(13),
    `p99 ${millis(m.p99)}`.padStart(13),
    `gen ${percent(m.cpuShare)}`.padStart(9),
  ];
  if (ceiling !== undefined) {
    cells.push(
      `  ${times(m.rps, ceiling.rps)} of ${ceiling.label} (${rate(ceiling.rps)}, p50 ${millis(ceiling.p50)}, ` +
        `p99 ${millis(ceiling.p99)})`,
    );
  }
  return cells.join(' ') + failures(m);
}

/**
 * A row measured in several rounds, each beside its own ceiling measured just before it: the ratio of each round and
 * their median (the lower middle one for an even count), so that the machine's drift between rounds — which moves
 * both figures of a round together — does not decide the ratio. Undefined without a round whose ratio is finite.
 */
export function pairedRatio(
  rounds: readonly { rps: number; ceiling: number }[],
): { median: number; ratios: number[] } | undefined {
  const ratios = rounds
    .filter((r) => Number.isFinite(r.rps) && Number.isFinite(r.ceiling) && r.ceiling > 0)
    .map((r) => r.rps / r.ceiling);
  if (ratios.length === 0) return undefined;
  const sorted = [...ratios].sort((a, b) => a - b);
  return { median: sorted[Math.ceil(sorted.length / 2) - 1]!, ratios };
}

/** `label: 0.49× of bare Express, the median of 3 rounds (0.47×, 0.52×, 0.49×)`. */
export function formatPaired(label: string, ceilingLabel: string, paired: ReturnType<typeof pairedRatio>): string {
  if (paired === undefined) return `${label}: no round to compare with ${ceilingLabel}`;
  const each = paired.ratios.map((r) => `${r.toFixed(2)}×`).join(', ');
  const rounds = paired.ratios.length;
  return `${label}: ${paired.median.toFixed(2)}× of ${ceilingLabel}, the median of ${rounds} round${rounds === 1 ? '' : 's'} (${each})`;
}

/** The PostgreSQL settings a reader needs beside the rows (a server without autovacuum never vacuums behind them). */
export const SERVER_SETTINGS = [
  'autovacuum',
  'fsync',
  'synchronous_commit',
  'wal_compression',
  'shared_buffers',
  'max_wal_size',
] as const;

/** One line from `pg_settings` rows: the version, then each setting, sizes in MB. */
export function formatServerSettings(
  version: string,
  rows: readonly { name: string; setting: string; unit: string | null }[],
): string {
  const toMb: Record<string, number> = { '8kB': 8 / 1024, kB: 1 / 1024, MB: 1, GB: 1024 };
  const parts = SERVER_SETTINGS.map((name) => {
    const row = rows.find((r) => r.name === name);
    if (row === undefined) return `${name} ?`;
    const factor = row.unit === null ? undefined : toMb[row.unit];
    if (factor === undefined) return `${name} ${row.setting}${row.unit === null ? '' : ` ${row.unit}`}`;
    return `${name} ${Number(row.setting) * factor} MB`;
  });
  return `PostgreSQL ${version}: ${parts.join(', ')}`;
}
