import { createHash } from 'node:crypto';
import type {
  JWSRenewalInfoDecodedPayload,
  JWSTransactionDecodedPayload,
  ResponseBodyV2DecodedPayload,
} from '@apple/app-store-server-library';
// The verifier's own module, not the package index: the index (CommonJS, so nothing is
// tree-shaken) also loads the App Store Server API client, the receipt parser and every model.
import {
  SignedDataVerifier,
  VerificationException,
  VerificationStatus,
} from '@apple/app-store-server-library/dist/jws_verification.js';
import { Environment } from '@apple/app-store-server-library/dist/models/Environment.js';
import { NotificationAuthError, NotificationCheckUnavailableError } from '../errors';

// Verifies App Store Server Notifications V2 with Apple's own SignedDataVerifier: the x5c chain up
// to the configured root(s), Apple's marker OIDs on the leaf (1.2.840.113635.100.6.11.1) and
// intermediate (1.2.840.113635.100.6.2.1), validity dates, the ES256 signature, the bundle id (and
// appAppleId in production) and the environment. With `enableOnlineChecks` the chain is also
// checked for revocation over OCSP and dates are checked against the clock instead of the
// payload's signedDate. The inner signedTransactionInfo / signedRenewalInfo go through the same
// verifier, so a notification is accepted only if everything Apple signed in it verifies.

/** Only real App Store environments: the library skips signature checks for Xcode/LocalTesting. */
export type AppleEnvironment = 'Production' | 'Sandbox';

export interface AppleNotificationConfig {
  /** DER (or PEM) root certificates, normally Apple Root CA - G3 from apple.com/certificateauthority. */
  rootCertificates: readonly Buffer[];
  bundleId: string;
  /** Required when Production is accepted; Apple signs it into production notifications. */
  appAppleId?: number;
  /** One environment, or several (a production stack that also accepts TestFlight/sandbox). */
  environment: AppleEnvironment | readonly AppleEnvironment[];
  /** OCSP revocation checks and clock-based dates: on in production. */
  enableOnlineChecks: boolean;
  /** Budget for the whole check, OCSP included; past it the check is retryable. Default 8000. */
  timeoutMs?: number;
}

/** The decoded notification exactly as Apple signed it: inner JWS fields stay JWS strings. */
export type AppleDecodedNotification = ResponseBodyV2DecodedPayload & {
  notificationType: string;
  notificationUUID: string;
  signedDate: number;
};

export interface VerifiedAppleNotification {
  notification: AppleDecodedNotification;
  environment: AppleEnvironment;
  /** The verified inner signedTransactionInfo, when the notification carries one. */
  transaction: JWSTransactionDecodedPayload | null;
  /** The verified inner signedRenewalInfo, when the notification carries one. */
  renewalInfo: JWSRenewalInfoDecodedPayload | null;
}

const DEFAULT_TIMEOUT_MS = 8_000;
const MAX_CACHED_VERIFIERS = 16;

// One verifier per configuration for the life of the process: the library caches OCSP-checked
// chains for 15 minutes per instance, so reusing it saves two OCSP round trips per notification.
const verifiers = new Map<string, SignedDataVerifier>();

export async function verifyAppleNotification(
  signedPayload: string,
  config: AppleNotificationConfig,
): Promise<VerifiedAppleNotification> {
  const allowed = allowedEnvironments(config);
  if (typeof signedPayload !== 'string' || signedPayload.split('.').length !== 3) {
    throw new NotificationAuthError('MALFORMED', 'signedPayload is not a compact JWS');
  }
  // The payload's own environment only picks which verifier runs; that verifier checks it again
  // against the signed content, so a lie here ends in a verification failure, not acceptance.
  const claimed = peekEnvironment(signedPayload);
  if (claimed !== null && !allowed.includes(claimed)) {
    throw new NotificationAuthError('WRONG_ENVIRONMENT', `notification is for ${claimed}`);
  }
  const environment = claimed ?? (allowed[0] as AppleEnvironment);
  const verifier = verifierFor(config, environment);

  return withDeadline(config.timeoutMs ?? DEFAULT_TIMEOUT_MS, async () => {
    const notification = (await classified(() =>
      verifier.verifyAndDecodeNotification(signedPayload),
    )) as ResponseBodyV2DecodedPayload;
    if (
      typeof notification.notificationType !== 'string' ||
      typeof notification.notificationUUID !== 'string' ||
      notification.notificationUUID.length === 0 ||
      typeof notification.signedDate !== 'number'
    ) {
      throw new NotificationAuthError(
        'MALFORMED',
        'notification lacks notificationType, notificationUUID or signedDate',
      );
    }
    const signedTransactionInfo = notification.data?.signedTransactionInfo;
    const signedRenewalInfo = notification.data?.signedRenewalInfo;
    const [transaction, renewalInfo] = await Promise.all([
      signedTransactionInfo
        ? classified(() => verifier.verifyAndDecodeTransaction(signedTransactionInfo))
        : null,
      signedRenewalInfo ? classified(() => verifier.verifyAndDecodeRenewalInfo(signedRenewalInfo)) : null,
    ]);
    return {
      notification: notification as AppleDecodedNotification,
      environment,
      transaction,
      renewalInfo,
    };
  });
}

/** Turns the library's VerificationException into our 401 / 503 classes. */
function classifyAppleVerificationFailure(
  error: unknown,
): NotificationAuthError | NotificationCheckUnavailableError | null {
  if (!(error instanceof VerificationException)) return null;
  const status = VerificationStatus[error.status] ?? String(error.status);
  const cause = error.cause;
  switch (error.status) {
    case VerificationStatus.RETRYABLE_VERIFICATION_FAILURE:
      // OCSP responder unreachable, timed out, or answered non-2xx.
      return new NotificationCheckUnavailableError(`apple ${status}`, error);
    case VerificationStatus.INVALID_APP_IDENTIFIER:
      return new NotificationAuthError('WRONG_APP', status, error);
    case VerificationStatus.INVALID_ENVIRONMENT:
      return new NotificationAuthError('WRONG_ENVIRONMENT', status, error);
    case VerificationStatus.INVALID_CHAIN_LENGTH:
    case VerificationStatus.INVALID_CERTIFICATE:
      // Also expired or not-yet-valid certificates, and certificates without an OCSP responder.
      return new NotificationAuthError('BAD_CERTIFICATE_CHAIN', describe(status, cause), error);
    case VerificationStatus.VERIFICATION_FAILURE:
      if (isNetworkError(cause)) {
        // The OCSP answer broke off while being read: the library reports it as a plain failure.
        return new NotificationCheckUnavailableError(describe(status, cause), error);
      }
      if (cause === undefined) {
        // Thrown by the chain walk: not issued by a configured root, or Apple's OIDs missing.
        return new NotificationAuthError('BAD_CERTIFICATE_CHAIN', status, error);
      }
      if (cause instanceof Error && cause.name === 'JsonWebTokenError') {
        return new NotificationAuthError('BAD_SIGNATURE', describe(status, cause), error);
      }
      return new NotificationAuthError('MALFORMED', describe(status, cause), error);
    default:
      // FAILURE: the payload is not the shape Apple signs, or OCSP says the certificate is not good.
      return new NotificationAuthError('MALFORMED', describe(status, cause), error);
  }
}

function allowedEnvironments(config: AppleNotificationConfig): readonly AppleEnvironment[] {
  const list: readonly AppleEnvironment[] =
    typeof config.environment === 'string' ? [config.environment] : config.environment;
  if (list.length === 0) throw new Error('Apple notifications: configure at least one environment');
  for (const env of list) {
    if (env !== 'Production' && env !== 'Sandbox') {
      throw new Error(`Apple notifications: unsupported environment ${String(env)}`);
    }
  }
  if (list.includes('Production') && config.appAppleId === undefined) {
    throw new Error('Apple notifications: appAppleId is required to accept Production notifications');
  }
  if (config.rootCertificates.length === 0) {
    throw new Error('Apple notifications: configure at least one root certificate');
  }
  return list;
}

function verifierFor(config: AppleNotificationConfig, environment: AppleEnvironment): SignedDataVerifier {
  const key = JSON.stringify([
    config.rootCertificates.map((c) => createHash('sha256').update(c).digest('hex')),
    config.bundleId,
    config.appAppleId ?? null,
    environment,
    config.enableOnlineChecks,
  ]);
  let verifier = verifiers.get(key);
  if (!verifier) {
    verifier = new SignedDataVerifier(
      config.rootCertificates.map((c) => Buffer.from(c)),
      config.enableOnlineChecks,
      environment === 'Production' ? Environment.PRODUCTION : Environment.SANDBOX,
      config.bundleId,
      config.appAppleId,
    );
    if (verifiers.size >= MAX_CACHED_VERIFIERS) verifiers.clear();
    verifiers.set(key, verifier);
  }
  return verifier;
}

function peekEnvironment(jws: string): AppleEnvironment | null {
  try {
    const payload = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      Record<string, unknown> | undefined
    >;
    const env = payload.data?.environment ?? payload.summary?.environment ?? payload.appData?.environment;
    if (env === 'Production' || env === 'Sandbox') return env;
    const externalId = payload.externalPurchaseToken?.externalPurchaseId;
    if (typeof externalId === 'string') return externalId.startsWith('SANDBOX') ? 'Sandbox' : 'Production';
    return null;
  } catch {
    // Not decodable: the verifier produces the canonical failure.
    return null;
  }
}

async function classified<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw classifyAppleVerificationFailure(error) ?? error;
  }
}

async function withDeadline<T>(ms: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NotificationCheckUnavailableError(`apple verification exceeded ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([run(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const NETWORK_ERROR_NAMES = new Set(['FetchError', 'AbortError', 'TimeoutError']);
function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (NETWORK_ERROR_NAMES.has(error.name)) return true;
  // Socket errors (ECONNRESET, ETIMEDOUT, EAI_AGAIN…), not Node's argument errors (ERR_…).
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z_]+$/.test(code) && !code.startsWith('ERR_');
}

function describe(status: string, cause: unknown): string {
  return cause instanceof Error ? `${status}: ${cause.name}: ${cause.message}` : status;
}
