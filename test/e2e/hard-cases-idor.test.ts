import { generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_AUDIENCE } from '../../dev/local/dev-issuer';
import { purchaseKey } from '../../shared/domain/purchase';
import { getPurchase } from '../../shared/store/purchases';
import { type RawAnswer, sendRaw, storeSnapshot } from '../support/bad-input-corpus';
import { type ContractApi, startContractApi } from '../support/contract-api';
import {
  sdkEntitlementsResponseSchema,
  sdkRestoreResponseSchema,
  sdkUuidResponseSchema,
  sdkVerifyOkSchema,
  sdkVerifyRejectedSchema,
} from '../support/sdk-schemas';

// One user reaching for another's purchases. The caller is the token's `sub` and nothing else:
// no query parameter, header or body field names a user. Under OWNERSHIP_POLICY=keep a purchase
// verified or restored by a second user stays with the first. Tokens the authorizer must not
// trust (alg none, HS256 keyed with the public key, another issuer, a re-signed or tampered
// payload) are 401 before any function runs.

const A = 'idor-alice';
const B = 'idor-bob';

let api: ContractApi;
let tokenA: string;
let tokenB: string;
let uuidA: string;
let apple: { token: string; subjectKey: string };
let google: { token: string; subjectKey: string };
let entitlementsA: unknown;
/** Everything that would give A away in an answer to B. */
let secretsOfA: string[];

beforeAll(async () => {
  api = await startContractApi();
  api.setEnv({ OWNERSHIP_POLICY: 'keep' });
  [tokenA, tokenB] = await Promise.all([api.token(A), api.token(B)]);
  uuidA = sdkUuidResponseSchema.parse((await api.call('POST', '/api/iap/uuid', { user: A })).json).uuid;
  apple = (await api.sandbox.buy({ platform: 'apple', productId: 'premium_monthly', appUserId: uuidA }))
    .purchase;
  google = (await api.sandbox.buy({ platform: 'google', productId: 'remove_ads', appUserId: uuidA }))
    .purchase;
  sdkVerifyOkSchema.parse(
    (
      await api.call('POST', '/api/iap/verify/apple', {
        user: A,
        body: { productId: 'premium_monthly', transactionId: apple.token, type: 'subscription' },
      })
    ).json,
  );
  const verifiedGoogle = sdkVerifyOkSchema.parse(
    (
      await api.call('POST', '/api/iap/verify/google', {
        user: A,
        body: { productId: 'remove_ads', purchaseToken: google.token, type: 'product' },
      })
    ).json,
  );
  entitlementsA = verifiedGoogle.entitlements;
  expect(verifiedGoogle.entitlements.map((e) => e.key).sort()).toEqual(['no_ads', 'premium']);
  secretsOfA = [A, uuidA, apple.token, apple.subjectKey, google.token, tokenA];
});
afterAll(async () => {
  await api?.stop();
});

async function owners() {
  const [a, g] = await Promise.all([
    getPurchase(purchaseKey('apple', apple.subjectKey)),
    getPurchase(purchaseKey('google', google.subjectKey)),
  ]);
  return { apple: a?.userId, google: g?.userId };
}

async function expectAUntouched() {
  expect(await owners()).toEqual({ apple: A, google: A });
  const res = await api.call('GET', '/api/iap/entitlements', { user: A });
  expect(res.json.entitlements).toEqual(entitlementsA);
}

function expectNothingOfA(res: RawAnswer | { json: unknown }, where: string) {
  const text = JSON.stringify(res.json);
  for (const secret of secretsOfA)
    expect(text, `${where} gave away ${secret.slice(0, 20)}`).not.toContain(secret);
}

/** Ways a caller might try to name another user besides its own token. */
const impersonations = (who: string, uuid: string) => ({
  queries: [
    `?userId=${who}`,
    `?appUserId=${uuid}`,
    `?sub=${who}`,
    `?user=${who}&userId=${who}&uuid=${uuid}`,
    `?userId[]=${who}`,
  ],
  headers: [
    { 'x-user-id': who },
    { 'x-amzn-oidc-identity': who },
    { 'x-forwarded-user': who },
    { 'x-app-user-id': uuid },
    { 'x-amzn-request-context': JSON.stringify({ authorizer: { jwt: { claims: { sub: who } } } }) },
  ] as Record<string, string>[],
  bodies: [
    { userId: who },
    { sub: who, appUserId: uuid },
    { requestContext: { authorizer: { jwt: { claims: { sub: who } } } } },
  ],
});

describe('reading', () => {
  it("B sees only B's entitlements, whatever query, header or body names A", async () => {
    const tries = impersonations(A, uuidA);
    const attempts = [
      ...tries.queries.map((q) => ({ path: `/api/iap/entitlements${q}`, headers: {}, body: undefined })),
      ...tries.headers.map((h) => ({ path: '/api/iap/entitlements', headers: h, body: undefined })),
      ...tries.bodies.map((b) => ({ path: '/api/iap/entitlements', headers: {}, body: JSON.stringify(b) })),
    ];
    for (const attempt of attempts) {
      const res = await sendRaw(api.url, {
        method: 'GET',
        path: attempt.path,
        headers: {
          authorization: `Bearer ${tokenB}`,
          'content-type': 'application/json',
          ...attempt.headers,
        },
        ...(attempt.body ? { body: attempt.body } : {}),
      });
      const where = `GET ${attempt.path} ${JSON.stringify(attempt.headers)} ${attempt.body ?? ''}`;
      expect(res.status, where).toBe(200);
      expect(sdkEntitlementsResponseSchema.parse(res.json).entitlements, where).toEqual([]);
      expectNothingOfA(res, where);
    }
  });

  it("B never obtains A's uuid", async () => {
    const uuidB = sdkUuidResponseSchema.parse(
      (await api.call('POST', '/api/iap/uuid', { user: B })).json,
    ).uuid;
    expect(uuidB).not.toBe(uuidA);
    const tries = impersonations(A, uuidA);
    for (const method of ['POST', 'GET'] as const) {
      for (const [i, query] of tries.queries.entries()) {
        const res = await sendRaw(api.url, {
          method,
          path: `/api/iap/uuid${query}`,
          headers: {
            authorization: `Bearer ${tokenB}`,
            'content-type': 'application/json',
            ...tries.headers[i % tries.headers.length],
          },
          body: JSON.stringify(tries.bodies[i % tries.bodies.length]),
        });
        expect(res.status).toBe(200);
        expect(res.json).toEqual({ uuid: uuidB });
      }
    }
    // A's is as it was.
    expect((await api.call('GET', '/api/iap/uuid', { user: A })).json).toEqual({ uuid: uuidA });
  });
});

describe('changing A’s purchases under OWNERSHIP_POLICY=keep', () => {
  it("B verifying A's transactions gets ALREADY_OWNED, and they stay A's", async () => {
    const tries = impersonations(A, uuidA);
    const requests = [
      [
        '/api/iap/verify/apple',
        { productId: 'premium_monthly', transactionId: apple.token, type: 'subscription' },
      ],
      ['/api/iap/verify/google', { productId: 'remove_ads', purchaseToken: google.token, type: 'product' }],
    ] as const;
    for (const [path, body] of requests) {
      for (const extra of [{}, ...tries.bodies]) {
        const res = await sendRaw(api.url, {
          method: 'POST',
          path,
          headers: { authorization: `Bearer ${tokenB}`, 'content-type': 'application/json', 'x-user-id': A },
          body: JSON.stringify({ ...body, ...extra }),
        });
        const where = `${path} ${JSON.stringify(extra)} → ${res.text}`;
        expect(res.status, where).toBe(200);
        expect(sdkVerifyRejectedSchema.parse(res.json).error, where).toBe('ALREADY_OWNED');
        expectNothingOfA(res, where);
      }
    }
    await expectAUntouched();
    expect((await api.call('GET', '/api/iap/entitlements', { user: B })).json).toEqual({ entitlements: [] });
  });

  it("B restoring A's entries gets only B's entitlements, and they stay A's", async () => {
    const transactions = [
      { platform: 'apple', productId: 'premium_monthly', transactionId: apple.token },
      { platform: 'google', productId: 'remove_ads', purchaseToken: google.token },
      // The docs' shape too.
      { platform: 'apple', productId: 'premium_monthly', token: apple.token, userId: A },
    ];
    const res = await api.call('POST', '/api/iap/restore', {
      user: B,
      body: { transactions, userId: A, sub: A },
      headers: { 'x-user-id': A },
    });
    expect(res.status).toBe(200);
    expect(sdkRestoreResponseSchema.parse(res.json)).toEqual({ valid: true, entitlements: [] });
    expectNothingOfA(res, 'restore');
    await expectAUntouched();
  });

  it("a body naming A does not put B's own new purchase on A", async () => {
    const own = (await api.sandbox.buy({ platform: 'apple', productId: 'premium_yearly' })).purchase;
    const res = await api.call('POST', '/api/iap/verify/apple', {
      user: B,
      body: { productId: 'premium_yearly', transactionId: own.token, userId: A, sub: A, appUserId: uuidA },
      headers: { 'x-user-id': A },
    });
    const body = sdkVerifyOkSchema.parse(res.json);
    expect(body.entitlements.map((e) => e.productId)).toEqual(['premium_yearly']);
    expectNothingOfA(res, 'own verify');
    expect((await getPurchase(purchaseKey('apple', own.subjectKey)))?.userId).toBe(B);
    await expectAUntouched();
  });
});

describe('forged tokens', () => {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = (issuer: string) => ({
    sub: A,
    iss: issuer,
    aud: DEV_AUDIENCE,
    iat: Math.floor(Date.now() / 1000) - 10,
    exp: Math.floor(Date.now() / 1000) + 3600,
  });

  async function forgeries(): Promise<[string, string][]> {
    const issuer = `${api.url}/_dev/issuer`;
    const jwks = (await (await fetch(`${issuer}/jwks.json`)).json()) as { keys: JWK[] };
    const realKey = jwks.keys[0] as JWK;
    const kid = realKey.kid as string;
    const [, payloadB, signatureB] = tokenB.split('.') as [string, string, string];
    const [headerA] = tokenA.split('.') as [string];
    const own = await generateKeyPair('RS256');
    const hs256 = (secret: string) =>
      new SignJWT(claims(issuer))
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
        .sign(new TextEncoder().encode(secret));
    const { createPublicKey } = await import('node:crypto');
    const pem = createPublicKey({ key: realKey as never, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    return [
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims(issuer))}.`],
      ['alg none, kid of the real key', `${b64({ alg: 'none', kid })}.${b64(claims(issuer))}.`],
      ['HS256 keyed with the public JWK', await hs256(JSON.stringify(realKey))],
      ['HS256 keyed with the public PEM', await hs256(pem)],
      ['HS256 keyed with the modulus', await hs256(realKey.n as string)],
      [
        'another issuer',
        await new SignJWT(claims('https://issuer.example.org/'))
          .setProtectedHeader({ alg: 'RS256', kid: 'evil' })
          .sign(own.privateKey),
      ],
      [
        'the right issuer and kid, another key',
        await new SignJWT(claims(issuer)).setProtectedHeader({ alg: 'RS256', kid }).sign(own.privateKey),
      ],
      ["B's signature over A's claims", `${headerA}.${b64(claims(issuer))}.${signatureB}`],
      [
        "B's token with sub swapped",
        `${tokenB.split('.')[0]}.${b64({ ...JSON.parse(Buffer.from(payloadB, 'base64url').toString()), sub: A })}.${signatureB}`,
      ],
      ["B's token, signature stripped", `${tokenB.split('.')[0]}.${payloadB}.`],
      ['two tokens in one header', `${tokenB} Bearer ${tokenA}`],
      ['the claims alone', b64(claims(issuer))],
    ];
  }

  it('are refused with 401 on every user route, and change nothing', async () => {
    const before = await storeSnapshot(api.resources);
    const routes = [
      ['POST', '/api/iap/verify/apple', { productId: 'premium_monthly', transactionId: apple.token }],
      [
        'POST',
        '/api/iap/verify/google',
        { productId: 'remove_ads', purchaseToken: google.token, type: 'product' },
      ],
      [
        'POST',
        '/api/iap/restore',
        { transactions: [{ platform: 'apple', productId: 'premium_monthly', transactionId: apple.token }] },
      ],
      ['GET', '/api/iap/entitlements', undefined],
      ['POST', '/api/iap/uuid', undefined],
      ['GET', '/api/iap/uuid', undefined],
    ] as const;
    const calls = api.sandbox.stats().verify.total;
    const forged = await forgeries();
    for (const [label, token] of forged) {
      for (const [method, path, body] of routes) {
        const res = await sendRaw(api.url, {
          method,
          path,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        expect(res.status, `${label}: ${method} ${path} → ${res.text}`).toBe(401);
        expectNothingOfA(res, label);
      }
    }
    // A's own token in the query string or a cookie is not a credential either.
    for (const [method, path] of routes) {
      const res = await sendRaw(api.url, {
        method,
        path: `${path}?access_token=${tokenA}`,
        headers: { cookie: `token=${tokenA}`, 'x-amz-security-token': tokenA },
      });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    expect(api.sandbox.stats().verify.total).toBe(calls);
    expect(await storeSnapshot(api.resources)).toEqual(before);
    // A control: the genuine token of A is accepted by the same routes.
    const genuine = await sendRaw(api.url, {
      method: 'GET',
      path: '/api/iap/entitlements',
      headers: { authorization: `Bearer ${tokenA}` },
    });
    expect(genuine.status).toBe(200);
    expect(genuine.json.entitlements).toEqual(entitlementsA);
  });
});
