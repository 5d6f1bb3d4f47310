import { versionMatches, type VersionCondition } from '../../http/if-match.ts';
import { AppError } from '../../shared/errors.ts';

/**
 * The order changed since the client read it (its If-Match names another version). Thrown inside the
 * transaction that holds the order's row lock, so nothing of the request is kept; the route answers
 * 412 precondition_failed with the order as it is now (see withCurrentOrder).
 */
export class StaleOrderError extends AppError {
  readonly orderId: string;
  readonly version: number;
  constructor(orderId: string, version: number) {
    super(
      'precondition_failed',
      'precondition_failed',
      `The order changed since you read it (it is at version ${version}); nothing was done. Look at it again and retry.`,
    );
    this.orderId = orderId;
    this.version = version;
  }
}

/** Throws StaleOrderError unless the order (read under its row lock) is at a version the condition allows. */
export function checkOrderVersion(condition: VersionCondition, order: { id: string; version: number }): void {
  if (!versionMatches(condition, order.version)) throw new StaleOrderError(order.id, order.version);
}

/**
 * Runs `work`; a StaleOrderError becomes the 412 problem with `order` (loaded by `load` after the failed
 * transaction rolled back, so the newest state) as an extra member.
 */
export async function withCurrentOrder<T>(
  work: () => Promise<T>,
  load: (orderId: string) => Promise<{ version: number } & Record<string, unknown>>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof StaleOrderError)) throw error;
    const order = await load(error.orderId);
    throw new AppError('precondition_failed', 'precondition_failed', error.message, { extra: { order } });
  }
}
