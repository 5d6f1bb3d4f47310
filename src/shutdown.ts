import type { Config } from './config.ts';
import type { Logger } from './observability/logger.ts';

/** Something to stop on shutdown, in reverse order of start. */
export type Stopper = () => Promise<void>;

/**
 * SIGTERM and SIGINT: readiness hooks first (`onBegin`), then every stopper in reverse order of start,
 * within SHUTDOWN_TIMEOUT_MS (else exit 1); exit 0 when all have stopped.
 *
 * `lost` (the database's, database.ts): when it settles nothing this process does can reach the database again
 * (PGlite's thread died), so the same stop runs, logged as fatal, and the process exits 1 — a supervisor (Docker's
 * restart policy, systemd, Kubernetes) starts a new one, which opens the database afresh.
 */
export function installShutdown(
  config: Config,
  logger: Logger,
  stoppers: Stopper[],
  lost?: Promise<Error>,
): { onBegin(fn: () => void): void } {
  const beginHooks: (() => void)[] = [];
  let stopping = false;
  const stop = async (why: { signal: string } | { lost: Error }) => {
    if (stopping) return;
    stopping = true;
    const exitCode = 'lost' in why ? 1 : 0;
    if ('lost' in why) logger.fatal({ err: why.lost }, 'the database is lost for good: stopping, exit code 1');
    else logger.info({ signal: why.signal }, 'shutting down');
    for (const hook of beginHooks) hook();
    const timer = setTimeout(() => {
      logger.error('shutdown timed out');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    for (const stopper of [...stoppers].reverse()) {
      try {
        await stopper();
      } catch (error) {
        logger.error({ err: error }, 'error while stopping');
      }
    }
    logger.info('stopped');
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void stop({ signal: 'SIGTERM' }));
  process.on('SIGINT', () => void stop({ signal: 'SIGINT' }));
  void lost?.then((error) => stop({ lost: error }));
  return { onBegin: (fn) => beginHooks.push(fn) };
}
