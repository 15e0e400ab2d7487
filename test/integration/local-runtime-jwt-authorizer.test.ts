import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIssuerFile, signDevToken, startDevIssuer } from '../../dev/local/dev-issuer';
import { type HttpApi, startHttpApi } from '../../dev/local/http-api';
import { createJwtAuthorizer } from '../../dev/local/jwt-authorizer';
import { readJsonFile } from '../../dev/local/local-data';
import { freePort } from '../../dev/local/ports';

// The dev issuer publishes OIDC discovery and JWKS on the emulator itself; the authorizer fetches
// them over HTTP from 127.0.0.1 exactly as it would from a real identity provider.
describe('local JWT authorizer against an OIDC issuer on 127.0.0.1', () => {
  let api: HttpApi;
  let dir: string;
  let keyFile: string;
  let stored: DevIssuerFile;
  let seen: APIGatewayProxyEventV2WithJWTAuthorizer | undefined;
  const reasons: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iap-jwt-'));
    keyFile = join(dir, 'dev-issuer.json');
    const port = await freePort();
    const issuer = await startDevIssuer({ apiUrl: `http://127.0.0.1:${port}`, file: keyFile });
    stored = readJsonFile<DevIssuerFile>(keyFile) as DevIssuerFile;
    api = await startHttpApi({
      port,
      routes: [{ method: 'GET', path: '/api/iap/entitlements', fn: 'entitlements', auth: 'user' }],
      resolveHandler: async () => async (event) => {
        seen = event as APIGatewayProxyEventV2WithJWTAuthorizer;
        return { statusCode: 200, body: 'ok' };
      },
      authorize: createJwtAuthorizer({
        issuer: issuer.issuer,
        audience: issuer.audience,
        onReject: (r) => reasons.push(r),
      }),
      timeoutSeconds: () => 10,
      extraEndpoints: issuer.endpoints,
    });
  });
  afterAll(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (token?: string) => {
    seen = undefined;
    const res = await fetch(`${api.url}/api/iap/entitlements`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    return { status: res.status, body: await res.text() };
  };

  it('persists the key pair privately and serves discovery and JWKS', async () => {
    expect(statSync(keyFile).mode & 0o077).toBe(0);
    const discovery = (await (await fetch(`${stored.issuer}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery.issuer).toBe(stored.issuer);
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]?.kid).toBe(stored.privateJwk.kid);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    // A second start with the same file keeps the key, so earlier tokens stay valid.
    const again = await startDevIssuer({ apiUrl: api.url, file: keyFile });
    expect(again.jwks.keys[0]?.kid).toBe(stored.privateJwk.kid);
  });

  it('lets a valid token through with its claims as API Gateway passes them', async () => {
    const token = await signDevToken(stored, 'alice', 3600, { roles: ['a', 'b'], premium: true });
    const res = await call(token);
    expect(res.status).toBe(200);
    const claims = seen?.requestContext.authorizer.jwt.claims ?? {};
    expect(claims.sub).toBe('alice');
    expect(claims.iss).toBe(stored.issuer);
    expect(claims.aud).toBe('iap-backend');
    expect(claims.exp).toMatch(/^\d+$/);
    expect(claims.roles).toBe('[a b]');
    expect(claims.premium).toBe('true');
    expect(seen?.requestContext.authorizer.jwt.scopes).toBeNull();
  });

  it('also accepts the bare token without the Bearer prefix', async () => {
    const token = await signDevToken(stored, 'bob');
    const res = await fetch(`${api.url}/api/iap/entitlements`, { headers: { authorization: token } });
    expect(res.status).toBe(200);
  });

  it('mints tokens on the local token endpoint', async () => {
    const res = await fetch(`${stored.issuer}/token`, {
      method: 'POST',
      body: JSON.stringify({ sub: 'carol' }),
    });
    const { token } = (await res.json()) as { token: string };
    expect((await call(token)).status).toBe(200);
    expect(seen?.requestContext.authorizer.jwt.claims.sub).toBe('carol');
  });

  it('answers 401 {"message":"Unauthorized"} without a token', async () => {
    expect(await call()).toEqual({ status: 401, body: '{"message":"Unauthorized"}' });
    expect(seen).toBeUndefined();
  });

  it('answers 401 for an expired token', async () => {
    const token = await signDevToken(stored, 'alice', -60);
    expect((await call(token)).status).toBe(401);
    expect(reasons.at(-1)).toMatch(/expired/);
  });

  it('answers 401 for a token signed by another key', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const forged = {
      ...stored,
      privateJwk: { ...(await exportJWK(privateKey)), kid: stored.privateJwk.kid },
    };
    expect((await call(await signDevToken(forged, 'alice'))).status).toBe(401);
    expect(reasons.at(-1)).toMatch(/signature/);
  });

  it('answers 401 for a token from another issuer', async () => {
    const token = await signDevToken({ ...stored, issuer: 'http://127.0.0.1:1/elsewhere' }, 'alice');
    expect((await call(token)).status).toBe(401);
    expect(reasons.at(-1)).toMatch(/iss/);
  });

  it('answers 401 for a token meant for another audience', async () => {
    const token = await signDevToken({ ...stored, audience: 'another-api' }, 'alice');
    expect((await call(token)).status).toBe(401);
    expect(reasons.at(-1)).toMatch(/audience/);
  });

  it('answers 401 for garbage in the Authorization header', async () => {
    expect((await call('not-a-jwt')).status).toBe(401);
    expect(seen).toBeUndefined();
  });
});
