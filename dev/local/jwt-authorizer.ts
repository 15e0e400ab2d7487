// A JWT authorizer that behaves like API Gateway HTTP API's: keys from the issuer's OIDC
// discovery document, RSA signatures only, `iss` must equal the issuer exactly, `aud` (or
// `client_id` when there is no `aud`) must be one of the audiences, `exp` must be present.
// Claims reach the function as API Gateway passes them: every value as a string.
import type { APIGatewayEventRequestContextJWTAuthorizer } from 'aws-lambda';
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import type { Authorizer } from './http-api';

export interface JwtAuthorizerOptions {
  issuer: string;
  audience: string | string[];
  /** Told why a token was refused; API Gateway's answer stays a bare 401. */
  onReject?: (reason: string) => void;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

/** HTTPS, except that a loopback issuer (a local identity provider, the dev issuer) may use HTTP. */
export function assertIssuerUrl(issuer: string, label = 'AUTH_ISSUER'): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error(`${label} must be an absolute URL, got "${issuer}"`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return url;
  throw new Error(
    `${label} must use https (plain http is accepted only for 127.0.0.1/localhost), got "${issuer}"`,
  );
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/** API Gateway hands claims to the function as strings; arrays become `[a b c]`. */
export function stringifyClaims(payload: JWTPayload): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') claims[name] = value;
    else if (Array.isArray(value))
      claims[name] = `[${value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ')}]`;
    else if (typeof value === 'object') claims[name] = JSON.stringify(value);
    else claims[name] = String(value);
  }
  return claims;
}

function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  // The identity source may hold the bare token or `Bearer <token>`.
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
  const token = match ? match[1] : authorization.trim();
  return token && token.split('.').length === 3 ? token : undefined;
}

export function createJwtAuthorizer(options: JwtAuthorizerOptions): Authorizer {
  assertIssuerUrl(options.issuer);
  const audiences = [options.audience].flat().filter(Boolean);
  if (!audiences.length) throw new Error('the JWT authorizer needs at least one audience (AUTH_AUDIENCE)');
  const reject = (reason: string) => {
    options.onReject?.(reason);
    return undefined;
  };

  let keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  async function keySet() {
    if (keys) return keys;
    const response = await fetch(discoveryUrl(options.issuer), { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`OIDC discovery answered ${response.status}`);
    const document = (await response.json()) as { jwks_uri?: unknown };
    if (typeof document.jwks_uri !== 'string') throw new Error('OIDC discovery document has no jwks_uri');
    keys = createRemoteJWKSet(assertIssuerUrl(document.jwks_uri, 'jwks_uri'));
    return keys;
  }

  return async (authorization): Promise<APIGatewayEventRequestContextJWTAuthorizer | undefined> => {
    const token = bearerToken(authorization);
    if (!token) return reject(authorization ? 'malformed Authorization header' : 'no Authorization header');
    let jwks: Awaited<ReturnType<typeof keySet>>;
    try {
      jwks = await keySet();
    } catch (error) {
      return reject(
        `could not load the issuer's keys from ${discoveryUrl(options.issuer)}: ${(error as Error).message}`,
      );
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        algorithms: RSA_ALGORITHMS,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) return reject('token expired');
      if (error instanceof errors.JWTClaimValidationFailed)
        return reject(`claim "${error.claim}" ${error.reason}`);
      if (error instanceof errors.JWSSignatureVerificationFailed) return reject('signature does not verify');
      if (error instanceof errors.JWKSNoMatchingKey)
        return reject("no key of the issuer matches the token's kid");
      return reject(`invalid token: ${(error as Error).message}`);
    }
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + 5)
      return reject('token issued in the future');
    const aud = payload.aud === undefined ? [] : [payload.aud].flat();
    const audienceOk = aud.length
      ? aud.some((a) => audiences.includes(a))
      : typeof payload.client_id === 'string' && audiences.includes(payload.client_id);
    if (!audienceOk) return reject('audience does not match');
    // The routes declare no authorization scopes, so API Gateway reports none.
    return { jwt: { claims: stringifyClaims(payload), scopes: null } };
  };
}
