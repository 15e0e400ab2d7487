import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { NotificationAuthError, NotificationCheckUnavailableError } from '../errors';

// Authenticates a Pub/Sub push request. An authenticated push subscription sends
// `Authorization: Bearer <Google-signed OIDC token>` whose audience is what the subscription was
// configured with (our endpoint URL) and whose email is the push service account. Anyone on the
// internet can POST to the endpoint, so every one of these checks is what keeps forged Play
// notifications out.

const GOOGLE_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';
const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'] as const;

export interface PubSubPushAuthConfig {
  /** The audience set on the push subscription (by default Google uses the push endpoint URL). */
  audience: string;
  /** The service account the push subscription authenticates as. */
  serviceAccountEmail: string;
  /** Key set getter; tests inject one backed by a local JWKS server. */
  jwks?: JWTVerifyGetKey;
  /** Where Google's signing keys are; used when `jwks` is not given. */
  jwksUrl?: string;
  issuers?: readonly string[];
  /** Allowed clock difference for exp / iat / nbf. Default 30 s. */
  clockSkewSeconds?: number;
  /** The clock, for tests; defaults to now. */
  now?: Date;
}

export interface PubSubPushIdentity {
  email: string;
  subject: string | null;
  issuedAt: number;
  expiresAt: number;
}

// Google's tokens live one hour; an older `iat` means a replayed or hand-made token.
const MAX_TOKEN_AGE_SECONDS = 3600;
const DEFAULT_SKEW_SECONDS = 30;

const remoteKeySets = new Map<string, JWTVerifyGetKey>();

/** A cached remote key set per URL: keys are fetched once per cold start and refreshed by jose. */
function remoteJwks(url: string = GOOGLE_JWKS_URL): JWTVerifyGetKey {
  let keySet = remoteKeySets.get(url);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(url), { timeoutDuration: 3_000 });
    remoteKeySets.set(url, keySet);
  }
  return keySet;
}

export async function verifyPubSubPush(
  authorizationHeader: string | undefined | null,
  config: PubSubPushAuthConfig,
): Promise<PubSubPushIdentity> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorizationHeader ?? '');
  const token = match?.[1];
  if (!token) throw new NotificationAuthError('MISSING_TOKEN', 'no bearer token in Authorization');

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, config.jwks ?? remoteJwks(config.jwksUrl), {
      algorithms: ['RS256'],
      issuer: [...(config.issuers ?? GOOGLE_ISSUERS)],
      audience: config.audience,
      clockTolerance: config.clockSkewSeconds ?? DEFAULT_SKEW_SECONDS,
      maxTokenAge: MAX_TOKEN_AGE_SECONDS,
      requiredClaims: ['exp', 'iat', 'email'],
      ...(config.now ? { currentDate: config.now } : {}),
    }));
  } catch (error) {
    throw classifyPubSubAuthFailure(error);
  }

  const email = typeof payload.email === 'string' ? payload.email : '';
  if (email.toLowerCase() !== config.serviceAccountEmail.toLowerCase()) {
    throw new NotificationAuthError('WRONG_SERVICE_ACCOUNT', `token email is ${email || '(none)'}`);
  }
  // Strictly the boolean: a string "true" is not what Google issues.
  if (payload.email_verified !== true) {
    throw new NotificationAuthError('EMAIL_NOT_VERIFIED', 'email_verified is not true');
  }
  return {
    email,
    subject: typeof payload.sub === 'string' ? payload.sub : null,
    issuedAt: payload.iat as number,
    expiresAt: payload.exp as number,
  };
}

/** jose's failures → 401 (the token) or 503 (Google's key set could not be fetched). */
function classifyPubSubAuthFailure(error: unknown): Error {
  if (error instanceof errors.JWTExpired) {
    return new NotificationAuthError('EXPIRED', `${error.claim}: ${error.reason}`, error);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const rejection =
      error.claim === 'iss'
        ? 'WRONG_ISSUER'
        : error.claim === 'aud'
          ? 'WRONG_AUDIENCE'
          : error.claim === 'iat' || error.claim === 'nbf'
            ? 'EXPIRED'
            : 'MALFORMED';
    return new NotificationAuthError(rejection, `${error.claim}: ${error.reason}`, error);
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSEAlgNotAllowed
  ) {
    return new NotificationAuthError('BAD_SIGNATURE', error.code, error);
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKInvalid
  ) {
    return new NotificationAuthError('MALFORMED', error.code, error);
  }
  if (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    // A bare JOSEError comes from the key set fetch: non-200 answer or a body that is not JSON.
    (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC') ||
    isNetworkError(error)
  ) {
    return new NotificationCheckUnavailableError(`google key set: ${describe(error)}`, error);
  }
  return error instanceof Error ? error : new Error(String(error));
}

function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // undici's fetch reports connection failures as TypeError('fetch failed') with the socket error as cause.
  if (error.name === 'TypeError' && error.message === 'fetch failed') return true;
  return error.name === 'AbortError' || error.name === 'TimeoutError';
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
