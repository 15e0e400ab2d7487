// The token issuer the local runtime uses when no AUTH_ISSUER is configured: an RS256 key pair
// (persisted so tokens survive restarts), published like a real OIDC provider's on the API
// server itself, so the JWT authorizer fetches discovery and keys exactly as it would from one.
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import type { ExtraEndpoints } from './http-api';
import type { HttpResponse } from './http-api-result';
import { readJsonFile, writePrivateJsonFile } from './local-data';

export const DEV_AUDIENCE = 'iap-backend';
export const DEV_ISSUER_PATH = '/_dev/issuer';
const DEV_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

export interface DevIssuerFile {
  /** Issuer URL of the last start, so `npm run token` can sign without the server. */
  issuer: string;
  audience: string;
  privateJwk: JWK;
}

export interface DevIssuer {
  issuer: string;
  audience: string;
  jwks: { keys: JWK[] };
  sign(sub: string, lifetimeSeconds?: number, extraClaims?: Record<string, unknown>): Promise<string>;
  endpoints: ExtraEndpoints;
}

function devIssuerUrl(apiUrl: string): string {
  return `${apiUrl.replace(/\/+$/, '')}${DEV_ISSUER_PATH}`;
}

function publicJwk(privateJwk: JWK): JWK {
  const { kty, n, e, kid } = privateJwk;
  return { kty, n, e, kid, alg: 'RS256', use: 'sig' } as JWK;
}

export async function signDevToken(
  file: DevIssuerFile,
  sub: string,
  lifetimeSeconds = DEV_TOKEN_LIFETIME_SECONDS,
  extraClaims: Record<string, unknown> = {},
): Promise<string> {
  const key = await importJWK(file.privateJwk, 'RS256');
  return new SignJWT({ ...extraClaims })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: file.privateJwk.kid as string })
    .setIssuer(file.issuer)
    .setAudience(file.audience)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeSeconds)
    .setJti(randomUUID())
    .sign(key);
}

async function newPrivateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256' };
}

/**
 * Loads the key from `file` (creating it on first use) or, without a file, makes an ephemeral
 * one. The file records the issuer URL of this start.
 */
export async function startDevIssuer(options: { apiUrl: string; file?: string }): Promise<DevIssuer> {
  const issuer = devIssuerUrl(options.apiUrl);
  const stored = options.file ? readJsonFile<DevIssuerFile>(options.file) : undefined;
  const state: DevIssuerFile = {
    issuer,
    audience: DEV_AUDIENCE,
    privateJwk: stored?.privateJwk ?? (await newPrivateJwk()),
  };
  if (options.file) writePrivateJsonFile(options.file, state);
  const jwks = { keys: [publicJwk(state.privateJwk)] };

  const json = (statusCode: number, value: unknown): HttpResponse => ({
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(value)),
  });
  const discovery = {
    issuer,
    jwks_uri: `${issuer}/jwks.json`,
    token_endpoint: `${issuer}/token`,
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  };

  const endpoints: ExtraEndpoints = async (req, body) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (!path.startsWith(`${DEV_ISSUER_PATH}/`)) return undefined;
    const route = `${req.method} ${path.slice(DEV_ISSUER_PATH.length)}`;
    if (route === 'GET /.well-known/openid-configuration') return json(200, discovery);
    if (route === 'GET /jwks.json') return json(200, jwks);
    if (route === 'POST /token') {
      let request: { sub?: unknown; userId?: unknown; expiresInSeconds?: unknown };
      try {
        request = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        return json(400, { message: 'body must be JSON: {"sub":"<userId>"}' });
      }
      const sub = request.sub ?? request.userId;
      if (typeof sub !== 'string' || !sub.trim())
        return json(400, { message: 'sub (the user id) is required' });
      const lifetime =
        typeof request.expiresInSeconds === 'number' && request.expiresInSeconds > 0
          ? request.expiresInSeconds
          : DEV_TOKEN_LIFETIME_SECONDS;
      return json(200, {
        token: await signDevToken(state, sub.trim(), lifetime),
        expiresInSeconds: lifetime,
      });
    }
    return json(404, { message: 'Not Found' });
  };

  return {
    issuer,
    audience: DEV_AUDIENCE,
    jwks,
    sign: (sub, lifetime, extra) => signDevToken(state, sub, lifetime, extra),
    endpoints,
  };
}
