/**
 * A loop of passes that never overlap: after a pass it goes again at once when the pass says there is more
 * (a full batch) or when it was woken meanwhile, else after `idleMs` on an unref'd timer. `wake()` starts a
 * pass now, or marks the one in hand to go round once more.
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
}

export function createWakeableLoop(options: WakeableLoopOptions): WakeableLoop {
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let inHand: Promise<void> | undefined;
  let again = false;

  const schedule = (): void => {
    timer = setTimeout(loop, options.idleMs);
    timer.unref();
  };

  const begin = (): Promise<void> => {
    if (inHand !== undefined) return inHand;
    if (timer !== undefined) clearTimeout(timer);
    inHand = (async () => {
      let more = false;
      try {
        more = await options.pass();
      } catch (error) {
        options.onError(error);
      } finally {
        inHand = undefined;
      }
      if (!running) return;
      if (more || again) {
        again = false;
        setImmediate(loop);
      } else {
        schedule();
      }
    })();
    return inHand;
  };

  const loop = (): void => {
    if (!running) return;
    if (inHand !== undefined) {
      again = true; // woken while busy: go round once more when this pass ends
      return;
    }
    void begin();
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
      if (timer !== undefined) clearTimeout(timer);
      await inHand;
    },
  };
}
