import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CeilingJob, CeilingResult } from './db-ceiling.ts';
import type { Job, LoadResult } from './load-child.ts';

export type { Job, LoadResult, RequestSpec } from './load-child.ts';
export type { CeilingJob, CeilingResult } from './db-ceiling.ts';

/** A child process of the bench that runs one job at a time, sent and answered over IPC. */
export interface Worker<J, R> {
  pid: number;
  run(job: J): Promise<R>;
  close(): void;
}

export function forkWorker<J, R>(file: string, env: Record<string, string> = {}): Worker<J, R> {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 0;
  const waiting = new Map<number, { resolve(r: R): void; reject(e: Error): void }>();
  child.on('message', (message: { id: number; result?: R; error?: string }) => {
    const w = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error !== undefined) w?.reject(new Error(`${file}: ${message.error}`));
    else w?.resolve(message.result!);
  });
  child.on('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`${file} exited with ${code}`));
    waiting.clear();
  });
  return {
    pid: child.pid!,
    run(job) {
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.send({ id, job });
      });
    },
    close() {
      if (child.connected) child.disconnect();
    },
  };
}

/** The load generator: autocannon and the paced webhook sender in a process of their own. */
export const startLoadGenerator = (): Worker<Job, LoadResult> => forkWorker<Job, LoadResult>('./load-child.ts');

/**
 * The database ceiling's process; `url` a fresh PostgreSQL database, undefined for PGlite: in memory, or with its
 * files in `pgliteDir`.
 */
export const startDbCeiling = (url: string | undefined, pgliteDir?: string): Worker<CeilingJob, CeilingResult> =>
  forkWorker<CeilingJob, CeilingResult>('./db-ceiling.ts', {
    CEILING_DATABASE_URL: url ?? '',
    CEILING_PGLITE_DIR: pgliteDir ?? '',
  });
