import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, Request, Response } from 'express';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { AppError, type ErrorKind } from '../shared/errors.ts';

const statusOf: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
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
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
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
        break;
    }
  }
  return clientErrorOf(error) ?? outageOf(error);
}

/** Seconds a client is told to wait when the database is out (a restart or a cut connection is short). */
export const OUTAGE_RETRY_AFTER_SECONDS = 2;

/** A lost or unobtainable database connection is an outage, answered 503 + Retry-After, never a 500. */
function outageOf(error: unknown): AppError | undefined {
  if (!isDatabaseUnavailable(error)) return undefined;
  return new AppError(
    'unavailable',
    'service_unavailable',
    'Fulcrum cannot reach its database just now. Retry in a moment; a retry with the same Idempotency-Key is safe.',
    { retryAfter: OUTAGE_RETRY_AFTER_SECONDS, cause: error },
  );
}

/**
 * Any other error that says it is the client's (http-errors' `status` 4xx with `expose`): a path segment
 * that is not valid percent-encoding (the router's URIError), a body whose Content-Encoding lies (a zlib
 * error), … A client's mistake is never a 500.
 */
function clientErrorOf(error: unknown): AppError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode, expose } = error as { status?: unknown; statusCode?: unknown; expose?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  if (typeof code !== 'number' || code < 400 || code > 499) return undefined;
  if (error instanceof URIError) {
    return new AppError('invalid', 'validation_failed', 'The path is not valid percent-encoding.', {
      errors: [{ path: 'params', message: 'is not valid percent-encoding' }],
    });
  }
  if (expose !== true) return undefined;
  switch (code) {
    case 413:
      return new AppError('too_large', 'payload_too_large', 'The request body is too large.');
    case 415:
      return new AppError('unsupported', 'unsupported_media_type', 'The body encoding or charset is not supported.');
    default:
      return new AppError('invalid', 'validation_failed', 'The request could not be read.', {
        errors: [{ path: '', message: 'unreadable request (encoding or framing)' }],
      });
  }
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
      if (known.kind === 'unavailable' && known.cause !== undefined) {
        logger.warn({ err: known.cause, reqId: res.getHeader('X-Request-Id') }, 'database unavailable');
      }
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

const clientErrorStatus: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'The request headers are too large.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request took too long to arrive.'],
  ERR_HTTP_HEADERS_TIMEOUT: [408, 'request_timeout', 'The request headers took too long to arrive.'],
};

/**
 * The HTTP server's 'clientError': a request Node cannot parse (a bad request line or header, a body framing
 * that lies — Content-Length and Transfer-Encoding together, a Content-Length shorter than the body so the rest
 * reads as a broken request), headers over the limit, a request too slow to arrive. Node would answer a bare
 * text 400; this answers a problem document like every other error, then closes the connection.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const [status, code, detail] = clientErrorStatus[error.code ?? ''] ?? [
    400,
    'malformed_request',
    'The HTTP request could not be parsed.',
  ];
  const body = JSON.stringify({
    type: `/problems/${code}`,
    title: titles[status] ?? 'Error',
    status,
    detail,
    code,
  });
  socket.end(
    `HTTP/1.1 ${status} ${titles[status] ?? 'Error'}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
