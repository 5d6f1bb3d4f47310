import { formatRow, percent, type Measured } from './format.ts';
import { machineCpu, nowMs, processCpuSeconds } from './lib.ts';
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
  /** Time windows (nowMs) of the rows a CPU profile is summarised for, by title. */
  windows: Map<string, [number, number]>;
}

export interface Busy {
  /** Fulcrum's CPU time over the wall time (1 = one core). */
  fulcrum: number | undefined;
  /** The whole machine's busy share, all cores (what else ran shows here). */
  machine: number | undefined;
}

/** Runs `fn` and reports how busy Fulcrum and the machine were meanwhile. */
export async function watched<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; busy: Busy }> {
  const cpu0 = processCpuSeconds(pid);
  const machine0 = machineCpu();
  const t0 = nowMs();
  const value = await fn();
  const wall = (nowMs() - t0) / 1000;
  const cpu1 = processCpuSeconds(pid);
  const machine1 = machineCpu();
  return {
    value,
    busy: {
      fulcrum: cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / wall,
      machine:
        machine0 === undefined || machine1 === undefined || machine1.total === machine0.total
          ? undefined
          : (machine1.busy - machine0.busy) / (machine1.total - machine0.total),
    },
  };
}

export const busyText = (b: Busy, who = 'fulcrum'): string =>
  `  [${who} ${percent(b.fulcrum)}, machine ${percent(b.machine)}]`;

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
  const { value, busy } = await watched(pid, () => ctx.load.run({ kind: 'cannon', ...job, duration: ctx.seconds }));
  return { result: value, busy };
}
