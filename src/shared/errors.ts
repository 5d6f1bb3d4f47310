// Domain errors carry a kind and a stable code; only http/problem.ts maps kinds to HTTP statuses.
export type ErrorKind =
  | 'not_found'
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'conflict'
  | 'precondition_failed'
  | 'unprocessable'
  | 'too_large'
  | 'unsupported'
  | 'rate_limited'
  | 'bad_gateway'
  | 'unavailable';

export interface FieldProblem {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly errors: FieldProblem[] | undefined;
  /** Extra members for the problem body (e.g. the pending payment, the short product ids). */
  readonly extra: Record<string, unknown> | undefined;
  /** Seconds, for rate limits. */
  readonly retryAfter: number | undefined;

  constructor(
    kind: ErrorKind,
    code: string,
    detail?: string,
    options: { errors?: FieldProblem[]; extra?: Record<string, unknown>; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(detail ?? code, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.code = code;
    this.errors = options.errors;
    this.extra = options.extra;
    this.retryAfter = options.retryAfter;
  }
}

export const notFound = (what = 'Resource'): AppError => new AppError('not_found', 'not_found', `${what} not found.`);
export const forbidden = (detail = 'You may not do this.'): AppError => new AppError('forbidden', 'forbidden', detail);
export const unauthorized = (detail = 'Authentication required.', code = 'unauthorized'): AppError =>
  new AppError('unauthorized', code, detail);
export const invalid = (errors: FieldProblem[], detail = 'The request is not valid.'): AppError =>
  new AppError('invalid', 'validation_failed', detail, { errors });
export const conflict = (code: string, detail: string, extra?: Record<string, unknown>): AppError =>
  new AppError('conflict', code, detail, extra === undefined ? {} : { extra });
