import {
  BadGatewayError,
  type FieldIssue,
  InvalidRequestError,
  ServiceUnavailableError,
} from '../http/errors';

// How Attesto's answers become our HTTP answers (architecture §6). Messages carry Attesto's error code,
// HTTP status and request id for support, never the API key or the purchase being verified.

export interface AttestoFailureContext {
  /** Attesto's HTTP status, when an answer arrived. */
  status?: number;
  /** Attesto's `error` code (`RATE_LIMITED`, `APPLE_API_ERROR`, …) when the body had one. */
  attestoCode?: string;
  /** Attesto's `X-Request-Id`, for support tickets. */
  requestId?: string;
}

/**
 * 503 + Retry-After: Attesto is rate limiting, failing, slow or unreachable, and the retry we
 * could afford inside the time budget did not help. The SDK retries 5xx on its own.
 */
export class AttestoUnavailableError extends ServiceUnavailableError {
  readonly context: AttestoFailureContext;

  constructor(
    message: string,
    retryAfterSeconds: number,
    context: AttestoFailureContext = {},
    cause?: unknown,
  ) {
    super(message, Math.max(1, Math.ceil(retryAfterSeconds)), cause);
    this.name = 'AttestoUnavailableError';
    this.context = context;
  }
}

/**
 * 502: Attesto refused our credentials (401/403, CREDENTIALS_MISSING, unknown tenant) or its
 * store credentials are broken. This is the operator's misconfiguration; answering 401 would make
 * the SDK think the user's token is bad.
 */
export class AttestoAuthError extends BadGatewayError {
  readonly context: AttestoFailureContext;

  constructor(message: string, context: AttestoFailureContext = {}) {
    super(message);
    this.name = 'AttestoAuthError';
    this.context = context;
  }
}

/** 502: Attesto answered something outside its contract (bad JSON, schema mismatch, odd status). */
export class AttestoBadResponseError extends BadGatewayError {
  readonly context: AttestoFailureContext;

  constructor(message: string, context: AttestoFailureContext = {}, cause?: unknown) {
    super(message, cause);
    this.name = 'AttestoBadResponseError';
    this.context = context;
  }
}

/**
 * 400: Attesto said INVALID_REQUEST about what the app sent (an over-long transaction id or
 * token, …). Our own request validation catches most of this first; when Attesto still
 * complains, the app's input is what is wrong, so the app gets a 400 naming Attesto's complaint.
 */
export class AttestoInvalidRequestError extends InvalidRequestError {
  readonly context: AttestoFailureContext;

  constructor(message: string, issues: FieldIssue[] = [], context: AttestoFailureContext = {}) {
    super(message, issues);
    this.name = 'AttestoInvalidRequestError';
    this.context = context;
  }
}
