import { formatRow, percent, type Measured } from './format.ts';
import { machineCpu, nowMs, processCpuSeconds, type FulcrumProcess } from './lib.ts';
import type { Job, LoadResult, Worker } from './load.ts';

/** What every row of the bench gets: the Fulcrum under test, its data, the load generator and the settings. */
export interface BenchContext {
  base: string;
  fulcrumPid: number;
  load: Worker<Job, LoadResult>;
  /** Seconds of each closed-loop row, and of its warm-up. */
  seconds: number;
  warmSeconds: number;
  quick: boolean;
  products: string[];
  /** One access token per customer (64). */
  tokens: string[];
  customerEmails: string[];
  adminToken: string;
  orderLines: number;
  /** A directory for the generator's input files. */
  dir: string;
  /** Logs every customer in again (access tokens last 15 minutes), replacing `tokens`' contents. */
  relogin(): Promise<void>;
  /**
   * On PostgreSQL: a second Fulcrum process, `api` only (no inbox worker, no relay), on the same database — the
   * drain row stores a backlog through it while the measured process is stopped. Undefined on PGlite.
   */
  startApiProcess?: () => Promise<FulcrumProcess>;
  /** Time windows (nowMs) of the rows a CPU profile is summarised for, by title. */
  windows: Map<string, [number, number]>;
}

export interface Busy {
  /** Fulcrum's CPU time over the wall time (1 = one core). */
  fulcrum: number | undefined;
  /** The whole machine's busy share, all cores (what else ran shows here). */
  machine: number | undefined;
  /** Fulcrum's event-loop delay during the row, p99 and max, in ms (from its /metrics); undefined for others. */
  loop?: { p99: number; max: number };
}

/**
 * Fulcrum's event-loop delay since the previous call: prom-client's default metrics keep a histogram that each scrape
 * of /metrics reads and resets. Undefined when /metrics does not answer (METRICS_TOKEN set, say).
 */
export async function eventLoopDelay(base: string): Promise<{ p99: number; max: number } | undefined> {
  try {
    const res = await fetch(`${base}/metrics`);
    if (res.status !== 200) return undefined;
    return parseEventLoopDelay(await res.text());
  } catch {
    return undefined;
  }
}

/** nodejs_eventloop_lag_p99_seconds and _max_seconds of a Prometheus text page, in ms. */
export function parseEventLoopDelay(text: string): { p99: number; max: number } | undefined {
  const value = (name: string) => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
    return match === null ? undefined : Number(match[1]) * 1000;
  };
  const p99 = value('nodejs_eventloop_lag_p99_seconds');
  const max = value('nodejs_eventloop_lag_max_seconds');
  return p99 === undefined || max === undefined ? undefined : { p99, max };
}

/** Runs `fn` and reports how busy Fulcrum and the machine were meanwhile (and, given its base URL, its event loop). */
export async function watched<T>(pid: number, fn: () => Promise<T>, base?: string): Promise<{ value: T; busy: Busy }> {
  if (base !== undefined) await eventLoopDelay(base); // resets the histogram: the row's own delays from here
  const cpu0 = processCpuSeconds(pid);
  const machine0 = machineCpu();
  const t0 = nowMs();
  const value = await fn();
  const wall = (nowMs() - t0) / 1000;
  const cpu1 = processCpuSeconds(pid);
  const machine1 = machineCpu();
  const loop = base === undefined ? undefined : await eventLoopDelay(base);
  return {
    value,
    busy: {
      ...(loop === undefined ? {} : { loop }),
      fulcrum: cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / wall,
      machine:
        machine0 === undefined || machine1 === undefined || machine1.total === machine0.total
          ? undefined
          : (machine1.busy - machine0.busy) / (machine1.total - machine0.total),
    },
  };
}

export const busyText = (b: Busy, who = 'fulcrum'): string =>
  `  [${who} ${percent(b.fulcrum)}, machine ${percent(b.machine)}` +
  (b.loop === undefined ? ']' : `, event loop delay p99 ${b.loop.p99.toFixed(1)} ms, max ${b.loop.max.toFixed(0)} ms]`);

export function printRow(label: string, m: Measured, busy?: Busy, ceiling?: Measured & { label: string }): void {
  console.log(formatRow(label, m, ceiling) + (busy === undefined ? '' : busyText(busy)));
}

/**
 * Waits (at most `maxMs`) until a process uses less than a fifth of a core: requests a previous row left in flight
 * (autocannon stops at its deadline without waiting for answers) are not counted against the next row.
 */
export async function quiet(pid: number, maxMs = 15_000): Promise<void> {
  const end = nowMs() + maxMs;
  while (nowMs() < end) {
    const c0 = processCpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 250));
    const c1 = processCpuSeconds(pid);
    if (c0 === undefined || c1 === undefined || (c1 - c0) / 0.25 < 0.2) return;
  }
}

/** A closed-loop autocannon job after a short warm-up of the same, each after the process went quiet, watched. */
export async function closedLoop(
  ctx: BenchContext,
  job: Omit<Extract<Job, { kind: 'cannon' }>, 'kind' | 'duration' | 'amount'>,
  pid = ctx.fulcrumPid,
): Promise<{ result: LoadResult; busy: Busy }> {
  await quiet(pid);
  await ctx.load.run({ kind: 'cannon', ...job, duration: ctx.warmSeconds });
  await quiet(pid);
  const { value, busy } = await watched(
    pid,
    () => ctx.load.run({ kind: 'cannon', ...job, duration: ctx.seconds }),
    pid === ctx.fulcrumPid ? ctx.base : undefined,
  );
  return { result: value, busy };
}
