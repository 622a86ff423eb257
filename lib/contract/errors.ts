/**
 * The one error shape of docs/api.md: `{"error": {"code", "message", "details"?}}`.
 *
 * Everything a client should see is an `ApiError`; anything else that escapes a handler is a bug,
 * logged and rendered as a 500 by the app's single `onError`.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN_ORIGIN: 403,
  CHALLENGE_REQUIRED: 403,
  NOT_STARTED: 403,
  ENDED: 403,
  NOT_ADMITTED: 403,
  NOT_REGISTERED: 403,
  NOT_FOUND: 404,
  USERNAME_TAKEN: 409,
  ALREADY_PURCHASED: 409,
  INSUFFICIENT_STOCK: 409,
  ORDER_EXPIRED: 409,
  ORDER_NOT_PAYABLE: 409,
  ORDER_NOT_CANCELLABLE: 409,
  SALE_STARTED: 409,
  TOO_MANY_UNPAID_ORDERS: 409,
  ENTRIES_CLOSED: 409,
  REGISTRATION_CLOSED: 409,
  REGISTRATION_NOT_REQUIRED: 409,
  SALE_HAS_ORDERS: 409,
  SOLD_OUT: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAUSED: 423,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The messages of the two "closed sale" answers, written once: the sale's object gives them, and the gateway
 * gives the same ones when it answers from its memory of the object's verdict.
 */
export const CLOSED_SALE_MESSAGES = {
  SOLD_OUT: "Sold out",
  ENDED: "The sale has ended",
} as const satisfies Partial<Record<ErrorCode, string>>;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }

  toResponse(): Response {
    return Response.json(this.toBody(), { status: this.status, headers: this.headers });
  }
}

/**
 * Failures that cross an RPC boundary travel as plain data (an `Error` subclass loses its fields on the way),
 * and are turned back into an `ApiError` by the caller.
 */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface Rejection {
  ok: false;
  code: ErrorCode;
  message: string;
  details?: Json;
}

export function reject(code: ErrorCode, message: string, details?: Json): Rejection {
  return details === undefined ? { ok: false, code, message } : { ok: false, code, message, details };
}

export function rejectionToError(r: Rejection, headers?: Record<string, string>): ApiError {
  return new ApiError(r.code, r.message, r.details, headers);
}
