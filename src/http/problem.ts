import type { ErrorRequestHandler, Request, Response } from 'express';
import type { Logger } from 'pino';
import { AppError, type ErrorKind } from '../shared/errors.ts';

const statusOf: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported: 415,
  unprocessable: 422,
  rate_limited: 429,
  bad_gateway: 502,
  unavailable: 503,
};

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function httpStatusOf(kind: ErrorKind): number {
  return statusOf[kind];
}

/** Writes an RFC 9457 problem document. Only AppError text reaches the client. */
export function sendProblem(req: Request, res: Response, error: AppError): void {
  const status = statusOf[error.kind];
  if (error.retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(error.retryAfter))));
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        ...error.extra,
        type: `/problems/${error.code}`,
        title: titles[status] ?? 'Error',
        status,
        detail: error.message,
        code: error.code,
        instance: req.originalUrl.split('?')[0],
        ...(error.errors === undefined ? {} : { errors: error.errors }),
      }),
    );
}

interface BodyParserError {
  type: string;
  status?: number;
}

function isBodyParserError(e: unknown): e is BodyParserError {
  return typeof e === 'object' && e !== null && typeof (e as { type?: unknown }).type === 'string' && 'status' in e;
}

/** Turns body-parser failures into our codes; anything unknown is a 500 whose detail stays in the log. */
export function toAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error;
  if (isBodyParserError(error)) {
    switch (error.type) {
      case 'entity.too.large':
        return new AppError('too_large', 'payload_too_large', 'The request body is too large.');
      case 'entity.parse.failed':
        return new AppError('invalid', 'validation_failed', 'The request body is not valid JSON.', {
          errors: [{ path: '', message: 'malformed JSON' }],
        });
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new AppError('unsupported', 'unsupported_media_type', 'The body encoding or charset is not supported.');
      case 'request.size.invalid':
      case 'request.aborted':
        return new AppError('invalid', 'validation_failed', 'The request body was incomplete.');
      default:
        return undefined;
    }
  }
  return undefined;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const known = toAppError(error);
    if (res.headersSent) {
      logger.error({ err: error, reqId: res.getHeader('X-Request-Id') }, 'error after headers were sent');
      res.end();
      return;
    }
    if (known !== undefined) {
      sendProblem(req, res, known);
      return;
    }
    logger.error({ err: error, reqId: res.getHeader('X-Request-Id') }, 'unhandled error');
    res
      .status(500)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: '/problems/internal_error',
          title: 'Internal Server Error',
          status: 500,
          detail: 'Something went wrong on our side. Quote the request id when reporting it.',
          code: 'internal_error',
          instance: req.originalUrl.split('?')[0],
        }),
      );
  };
}
