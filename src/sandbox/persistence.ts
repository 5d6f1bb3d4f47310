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
  /** Writes now if anything changed; stops writing afterwards when `final`. */
  flush(final?: boolean): void;
}

/**
 * Debounced saves: a burst of changes (one payment makes several events) is written once, and a
 * large state is written less often (at most a fifth of the time goes to writing). A crash loses
 * the changes of the last interval; close() writes everything.
 */
export function createPersistence(file: string | null, snapshot: () => Snapshot, debounceMs = 20): Persistence {
  let dirty = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let lastWriteMs = 0;
  const flush = (final = false): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (file !== null && dirty && !stopped) {
      dirty = false;
      const started = performance.now();
      try {
        saveSnapshot(file, snapshot());
        lastWriteMs = performance.now() - started;
      } catch (err) {
        console.error(`sandbox: could not save ${file}`, err);
      }
    }
    if (final) stopped = true;
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
    flush,
  };
}
