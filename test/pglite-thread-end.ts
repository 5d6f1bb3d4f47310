import type { Worker } from 'node:worker_threads';

/**
 * Ends a real PGlite thread behind its handle's back, as a thread that dies does: the thread is asked to close PGlite
 * directly (its handle does not know), so it ends on its own (exit code 0) once PGlite is closed. Resolves when it
 * has exited. Not worker.terminate(): tearing down a thread whose PGlite is open aborted whole test processes now and
 * then in Node 24's V8 ("Check failed: jit_page_->allocations_.erase(addr) == 1", CI runs in sessions 15 and 18;
 * nodejs/node#64500 reports the same abort under PGlite churn), even between statements.
 */
export function endThreadUnbidden(worker: Worker): Promise<void> {
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // id -1: a request no caller waits for (the handle numbers its own from 1).
  worker.postMessage({ kind: 'close', id: -1 });
  return ended;
}
