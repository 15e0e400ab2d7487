// The one error contract of the HTTP API. Handlers and shared code throw these; the single
// mapping in ./response.ts turns them into API Gateway results. Anything else becomes a 500
// that carries only the request id: error details are logged, never serialised.

export interface FieldIssue {
  path: string;
  message: string;
}

export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly issues?: FieldIssue[];
  /** Seconds the caller should wait before retrying (503 and 429 answers). */
  readonly retryAfterSeconds?: number;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    extra: { issues?: FieldIssue[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    if (extra.issues) this.issues = extra.issues;
    if (extra.retryAfterSeconds !== undefined) this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

/** 400: the request body or parameters are wrong; `issues` names each bad field. */
export class InvalidRequestError extends HttpError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super(400, 'INVALID_REQUEST', message, { issues });
  }
}

export class UnauthorizedError extends HttpError {
  constructor(message = 'Unauthorized') {
    super(401, 'UNAUTHORIZED', message);
  }
}

/** 404: what the caller asked for does not exist; the message names what was searched. */
export class NotFoundError extends HttpError {
  constructor(message: string) {
    super(404, 'NOT_FOUND', message);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${limitBytes} bytes`);
  }
}

/**
 * 503: a dependency (Attesto, DynamoDB) is briefly unavailable. The SDK retries 5xx, so a
 * transient problem must never be answered with `valid:false`.
 */
export class ServiceUnavailableError extends HttpError {
  constructor(message: string, retryAfterSeconds = 1, cause?: unknown) {
    super(503, 'SERVICE_UNAVAILABLE', message, { retryAfterSeconds, cause });
  }
}

/**
 * 502: an upstream rejected our own credentials or answered nonsense. Never 401/403, which the
 * SDK treats as "the user's token is bad" and does not retry.
 */
export class BadGatewayError extends HttpError {
  constructor(message: string, cause?: unknown) {
    super(502, 'UPSTREAM_ERROR', message, { cause });
  }
}
