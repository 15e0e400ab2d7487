import { InvalidRequestError, ServiceUnavailableError, UnauthorizedError } from '../http/errors';

// How a direct store notification can fail before it is enqueued. Apple retries any non-200 answer
// for about three days and Pub/Sub redelivers any non-2xx push, so the only thing the class decides
// is what the logs and alarms say: 401 means "not from the store (or not for us)", 503 means "we
// could not check right now". A dependency failure must never be answered as a 401.

/** Why a notification was refused; logged, never sent to the caller. */
export type NotificationRejection =
  | 'MALFORMED'
  | 'BAD_CERTIFICATE_CHAIN'
  | 'BAD_SIGNATURE'
  | 'CERTIFICATE_REVOKED'
  | 'WRONG_APP'
  | 'WRONG_ENVIRONMENT'
  | 'MISSING_TOKEN'
  | 'EXPIRED'
  | 'WRONG_ISSUER'
  | 'WRONG_AUDIENCE'
  | 'WRONG_SERVICE_ACCOUNT'
  | 'EMAIL_NOT_VERIFIED';

/** 401: the notification is forged, tampered, expired, or meant for another app or environment. */
export class NotificationAuthError extends UnauthorizedError {
  readonly rejection: NotificationRejection;
  /** Store-specific detail for the logs (e.g. Apple's VerificationStatus name). */
  readonly detail: string;

  constructor(rejection: NotificationRejection, detail: string, cause?: unknown) {
    // The caller sees only this generic message; `rejection` and `detail` are for our logs.
    super('Notification could not be verified');
    this.name = 'NotificationAuthError';
    this.rejection = rejection;
    this.detail = detail;
    if (cause !== undefined) this.cause = cause;
  }
}

/** 503: a dependency of the check (Apple's OCSP responder, Google's key set) is unreachable. */
export class NotificationCheckUnavailableError extends ServiceUnavailableError {
  readonly detail: string;

  constructor(detail: string, cause?: unknown) {
    super('Notification verification is temporarily unavailable', 5, cause);
    this.name = 'NotificationCheckUnavailableError';
    this.detail = detail;
  }
}

/** 400: the Pub/Sub push body is authentic but not a DeveloperNotification we can read. */
export class MalformedNotificationError extends InvalidRequestError {
  constructor(message: string, issues: { path: string; message: string }[] = []) {
    super(message, issues);
    this.name = 'MalformedNotificationError';
  }
}
