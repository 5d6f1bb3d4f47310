import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** Small helpers shared by the benchmarks: a Fulcrum process, a JSON client, percentiles. */

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface FulcrumProcess {
  baseUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `node src/main.ts all` (or `api`) as a child process (its own core), answering /readyz. */
export async function startFulcrum(
  env: Record<string, string>,
  nodeArgs: string[] = [],
  mode: 'all' | 'api' = 'all',
): Promise<FulcrumProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, 'src/main.ts', mode], {
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Its log lines (JSON on a pipe) go on to the bench's output; the start-up banner does not.
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('{')) console.log(line);
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fulcrum exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('fulcrum did not become ready within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    baseUrl,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export interface Reply<T = any> {
  status: number;
  body: T;
}

export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: string } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body = options.raw;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

export function expectStatus(reply: Reply, status: number, what: string): void {
  if (reply.status !== status) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
}

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of durations in milliseconds. */
export function summarize(samples: number[]): Summary {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return {
    n: sorted.length,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: sorted[sorted.length - 1]!,
  };
}

export const ms = (v: number): string => `${v.toFixed(1)} ms`;
export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

/**
 * Runs `task(i)` for i in [0, count) at `perSecond` starts per second, without waiting for one to end.
 * Returns the rate the tasks were started at and the rate they were finished at (count / time to the last end).
 */
export async function atRate(
  count: number,
  perSecond: number,
  task: (i: number) => Promise<void>,
): Promise<{ started: number; finished: number }> {
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < count; i += 1) {
    const due = t0 + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    running.push(task(i));
  }
  const lastStart = performance.now();
  await Promise.all(running);
  const seconds = (end: number) => Math.max(end - t0, 1) / 1000;
  return { started: count / seconds(lastStart + 1000 / perSecond), finished: count / seconds(performance.now()) };
}

/** Milliseconds on the system's monotonic clock (CLOCK_MONOTONIC): comparable between the bench's processes. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds a process has used so far (user + system, /proc/<pid>/stat); undefined off Linux. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The machine's busy and total CPU time so far (/proc/stat, all cores), to tell how busy it was during a row. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in bytes (/proc/<pid>/status VmRSS). */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * A paced row's confirmation latencies (PAID seen − payment sent), the first `warm` payments apart from the rest;
 * a payment never confirmed has none (the row counts it as not confirmed).
 */
export function pacedLatencies(
  ids: readonly string[],
  sentAt: readonly number[],
  paidAt: ReadonlyMap<string, number>,
  warm: number,
): { warmup: number[]; measured: number[] } {
  const warmup: number[] = [];
  const measured: number[] = [];
  ids.forEach((id, i) => {
    const at = paidAt.get(id);
    if (at !== undefined) (i < warm ? warmup : measured).push(at - sentAt[i]!);
  });
  return { warmup, measured };
}
