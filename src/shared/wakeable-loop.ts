/**
 * A loop of passes that never overlap: after a pass it goes again at once when the pass says there is more
 * (a full batch) or when it was woken meanwhile, else after `idleMs` on an unref'd timer. `wake()` starts a
 * pass now (or once `minIntervalMs` is up), or marks the one in hand to go round once more.
 */
export interface WakeableLoop {
  wake(): void;
  /** A pass now, or the one in hand (joined, not repeated); resolves when it has finished. Works stopped too. */
  runPass(): Promise<void>;
  /** Starts the loop: its first pass now, or after `idleMs` with `firstPassNow: false`. */
  start(options?: { firstPassNow?: boolean }): void;
  /** No new passes; resolves when the pass in hand has finished. */
  stop(): Promise<void>;
}

export interface WakeableLoopOptions {
  /** One pass; resolves true when there may be more to do right away. */
  pass: () => Promise<boolean>;
  idleMs: number;
  /** A pass that threw: logged by the caller; the loop carries on after `idleMs`. */
  onError: (error: unknown) => void;
  /**
   * Passes start at least this far apart (default 0): a wake sooner than that after the last pass began waits
   * for it, so that wakes coming faster than passes are gathered into one. A full batch (`more`) goes at once.
   */
  minIntervalMs?: number;
}

export function createWakeableLoop(options: WakeableLoopOptions): WakeableLoop {
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let inHand: Promise<void> | undefined;
  let again = false;
  const spacing = intervalGate(options.minIntervalMs ?? 0);

  const schedule = (): void => {
    timer = setTimeout(loop, options.idleMs);
    timer.unref();
  };

  const begin = (): Promise<void> => {
    if (inHand !== undefined) return inHand;
    clearTimeout(timer);
    spacing.began();
    inHand = (async () => {
      let more = false;
      try {
        more = await options.pass();
      } catch (error) {
        options.onError(error);
      } finally {
        inHand = undefined;
      }
      if (running) next(more);
    })();
    return inHand;
  };

  /** After a pass: a full batch's rest now, whatever minIntervalMs says; a wake meanwhile: `loop`; else idle. */
  const next = (more: boolean): void => {
    const wasWoken = again;
    again = false;
    if (more) setImmediate(() => running && void begin());
    else if (wasWoken) setImmediate(loop);
    else schedule();
  };

  const loop = (): void => {
    if (!running) return;
    if (inHand !== undefined) {
      again = true; // woken while busy: go round once more when this pass ends
      return;
    }
    if (!spacing.holds(loop)) void begin();
  };

  return {
    wake() {
      if (running) loop();
    },
    runPass: begin,
    start(startOptions) {
      if (running) return;
      running = true;
      if (startOptions?.firstPassNow === false) schedule();
      else loop();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      spacing.stop();
      await inHand;
    },
  };
}

/** Upkeep on a timer: stop() ends it, resolving when the pass in hand has finished. */
export interface Periodic {
  stop(): Promise<void>;
}

/**
 * `run` every `everyMs` on an unref'd timer (the first after `everyMs`: upkeep never keeps the process alive nor
 * delays its start), never two at once; one that throws goes to `onError` and the next runs as planned.
 */
export function startPeriodic(
  run: () => Promise<unknown>,
  everyMs: number,
  onError: (error: unknown) => void,
): Periodic {
  const loop = createWakeableLoop({
    pass: async () => {
      await run();
      return false;
    },
    idleMs: everyMs,
    onError,
  });
  loop.start({ firstPassNow: false });
  return { stop: () => loop.stop() };
}

/** `minIntervalMs`: passes start at least that far apart; a wake sooner is held on one timer with every other till then. */
function intervalGate(minIntervalMs: number) {
  let lastBegan = -Infinity;
  let held: NodeJS.Timeout | undefined;
  return {
    began(): void {
      lastBegan = performance.now();
      clearTimeout(held);
      held = undefined;
    },
    /** True when it is too soon: `retry` runs once the interval is up. */
    holds(retry: () => void): boolean {
      const wait = lastBegan + minIntervalMs - performance.now();
      if (wait <= 0) return false;
      held ??= setTimeout(() => {
        held = undefined;
        retry();
      }, wait);
      return true;
    },
    stop(): void {
      clearTimeout(held);
    },
  };
}
