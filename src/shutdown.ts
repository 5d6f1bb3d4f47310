import type { Config } from './config.ts';
import type { Logger } from './observability/logger.ts';

/** Something to stop on shutdown, in reverse order of start. */
export type Stopper = () => Promise<void>;

/**
 * SIGTERM and SIGINT: readiness hooks first (`onBegin`), then every stopper in reverse order of start,
 * within SHUTDOWN_TIMEOUT_MS (else exit 1); exit 0 when all have stopped.
 */
export function installShutdown(
  config: Config,
  logger: Logger,
  stoppers: Stopper[],
): { onBegin(fn: () => void): void } {
  const beginHooks: (() => void)[] = [];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
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
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return { onBegin: (fn) => beginHooks.push(fn) };
}
