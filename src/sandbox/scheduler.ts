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
  let closed = false;

  function arm(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (closed || jobs.size === 0) return;
    let earliest = Infinity;
    for (const job of jobs.values()) earliest = Math.min(earliest, job.dueAt);
    const delay = Math.max(0, Math.min(earliest - now(), maxSleepMs));
    timer = setTimeout(fire, delay);
    timer.unref();
  }

  function fire(): void {
    timer = null;
    const t = now();
    const due = [...jobs.entries()].filter(([, job]) => job.dueAt <= t).sort(([, a], [, b]) => a.dueAt - b.dueAt);
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
    arm();
  }

  return {
    at(key, dueAtMs, run) {
      if (closed) return;
      jobs.set(key, { dueAt: dueAtMs, run });
      arm();
    },
    cancel(key) {
      if (jobs.delete(key)) arm();
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
