/**
 * Timed work (session expiry, async payment outcomes, webhook retries) keyed by name, on one
 * timer. The sleep is capped so an injected clock that jumps ahead is noticed promptly.
 */
export interface Scheduler {
  at(key: string, dueAtMs: number, run: () => void): void;
  cancel(key: string): void;
  has(key: string): boolean;
  close(): void;
}

export function createScheduler(now: () => number, maxSleepMs: number): Scheduler {
  const jobs = new Map<string, { dueAt: number; run: () => void }>();
  let timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires; a new job due earlier re-arms it, a later one does not. */
  let armedFor = Infinity;
  let closed = false;

  function arm(dueAt: number): void {
    if (timer !== null) clearTimeout(timer);
    const delay = Math.max(0, Math.min(dueAt - now(), maxSleepMs));
    armedFor = now() + delay;
    timer = setTimeout(fire, delay);
    timer.unref();
  }

  function fire(): void {
    timer = null;
    armedFor = Infinity;
    const t = now();
    const due: [string, { dueAt: number; run: () => void }][] = [];
    for (const entry of jobs) if (entry[1].dueAt <= t) due.push(entry);
    due.sort(([, a], [, b]) => a.dueAt - b.dueAt);
    for (const [key, job] of due) {
      if (closed) return;
      // A job may have been replaced or cancelled by an earlier one in this batch.
      if (jobs.get(key) !== job) continue;
      jobs.delete(key);
      try {
        job.run();
      } catch (err) {
        console.error(`sandbox: scheduled job ${key} failed`, err);
      }
    }
    if (closed || jobs.size === 0) return;
    let earliest = Infinity;
    for (const job of jobs.values()) earliest = Math.min(earliest, job.dueAt);
    if (timer === null || earliest < armedFor) arm(earliest);
  }

  return {
    at(key, dueAtMs, run) {
      if (closed) return;
      jobs.set(key, { dueAt: dueAtMs, run });
      if (timer === null || dueAtMs < armedFor) arm(dueAtMs);
    },
    cancel(key) {
      // The timer may then wake up for nothing, which is harmless.
      jobs.delete(key);
    },
    has(key) {
      return jobs.has(key);
    },
    close() {
      closed = true;
      jobs.clear();
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
