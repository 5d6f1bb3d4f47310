import type { JsonObject } from './util.ts';

export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export interface ApiErrorInit {
  status: number;
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  declineCode?: string;
  /** A parameter check that failed before anything ran: Stripe saves no idempotent result for it. */
  isValidation?: boolean;
  headers?: Record<string, string>;
}

/** An error answered with Stripe's shape `{ error: { type, code, message, param } }`. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: StripeErrorType;
  readonly code: string | undefined;
  readonly param: string | undefined;
  readonly declineCode: string | undefined;
  readonly isValidation: boolean;
  readonly headers: Record<string, string>;

  constructor(init: ApiErrorInit) {
    super(init.message);
    this.status = init.status;
    this.type = init.type;
    this.code = init.code;
    this.param = init.param;
    this.declineCode = init.declineCode;
    this.isValidation = init.isValidation ?? false;
    this.headers = init.headers ?? {};
  }

  toJSON(): JsonObject {
    const error: JsonObject = { type: this.type, message: this.message };
    if (this.code !== undefined) {
      error.code = this.code;
      error.doc_url = `https://stripe.com/docs/error-codes/${this.code.replace(/_/g, '-')}`;
    }
    if (this.declineCode !== undefined) error.decline_code = this.declineCode;
    if (this.param !== undefined) error.param = this.param;
    return { error };
  }
}

/** A malformed or missing parameter: 400, nothing saved for the idempotency key. */
export function invalidParam(param: string, message: string, code?: string): ApiError {
  return new ApiError({ status: 400, type: 'invalid_request_error', message, param, code, isValidation: true });
}

export function missingParam(param: string): ApiError {
  return new ApiError({
    status: 400,
    type: 'invalid_request_error',
    message: `Missing required param: ${param}.`,
    param,
    code: 'parameter_missing',
    isValidation: true,
  });
}

export function unknownParam(param: string): ApiError {
  return new ApiError({
    status: 400,
    type: 'invalid_request_error',
    message: `Received unknown parameter: ${param}`,
    param,
    code: 'parameter_unknown',
    isValidation: true,
  });
}

/** `No such checkout.session: 'cs_…'`; 404 for the object in the path, 400 for one named by a parameter. */
export function resourceMissing(objectName: string, id: string, param: string, status = 404): ApiError {
  return new ApiError({
    status,
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${objectName}: '${id}'`,
    param,
  });
}

/** A request that is well formed but not allowed in the object's current state. */
export function invalidState(message: string, code?: string, param?: string): ApiError {
  return new ApiError({ status: 400, type: 'invalid_request_error', message, code, param });
}
