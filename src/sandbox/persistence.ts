import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Snapshot } from './state.ts';

export function loadSnapshot(file: string): Snapshot | null {
  if (!existsSync(file)) return null;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Snapshot> | null;
  if (parsed === null || typeof parsed !== 'object' || parsed.version !== 1) {
    throw new Error(`sandbox: ${file} is not a sandbox data file (version 1)`);
  }
  return parsed as Snapshot;
}

/** Write to a temporary file, then rename over the old one: a crash leaves the old or the new file, never half. */
export function saveSnapshot(file: string, snapshot: Snapshot): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(snapshot));
  renameSync(tmp, file);
}

export interface Persistence {
  markDirty(): void;
  /**
   * Resolves once every change made so far is in the file (at once when there is nothing unsaved or no file);
   * rejects when that write failed. The server awaits it before answering, so an acknowledged change survives
   * the process being killed: a group commit, one write for the changes of a whole debounce window.
   */
  durable(): Promise<void>;
  /** Writes now if anything changed; stops writing afterwards when `final`. */
  flush(final?: boolean): void;
}

/**
 * Debounced saves: a burst of changes (one payment makes several events) is written once, and a
 * large state is written less often (at most a fifth of the time goes to writing). Answers wait for
 * the write that holds their change (durable()), so a crash loses only changes nobody was told of
 * (a webhook attempt's bookkeeping, a timer that fired); close() writes everything.
 */
export function createPersistence(file: string | null, snapshot: () => Snapshot, debounceMs = 20): Persistence {
  let dirty = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let lastWriteMs = 0;
  let waiting: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  const flush = (final = false): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const waiters = waiting;
    waiting = [];
    let failure: unknown = null;
    if (file !== null && dirty && !stopped) {
      dirty = false;
      const started = performance.now();
      try {
        saveSnapshot(file, snapshot());
        lastWriteMs = performance.now() - started;
      } catch (err) {
        failure = err;
        console.error(`sandbox: could not save ${file}`, err);
      }
    }
    if (final) stopped = true;
    for (const waiter of waiters) {
      if (failure === null) waiter.resolve();
      else waiter.reject(failure);
    }
  };
  return {
    markDirty() {
      if (file === null || stopped) return;
      dirty = true;
      if (timer === null) {
        timer = setTimeout(() => flush(), Math.max(debounceMs, lastWriteMs * 4));
        timer.unref();
      }
    },
    durable() {
      if (file === null || stopped || !dirty) return Promise.resolve();
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    flush,
  };
}
