import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ContractApi, startContractApi } from '../support/contract-api';
import { sdkProductsResponseSchema, sdkVerifyOkSchema } from '../support/sdk-schemas';

// HTTP semantics the SDK depends on (architecture §6, contract §1.3), through the local HTTP API with
// its JWT authorizer, against the Attesto sandbox's misbehaviour knobs.

let api: ContractApi;
let transactionId: string;

beforeAll(async () => {
  api = await startContractApi({ productsRequireAuth: true });
  transactionId = (await api.sandbox.buy({ platform: 'apple', productId: 'premium_monthly' })).purchase.token;
});
afterAll(async () => {
  await api?.stop();
});
afterEach(() => {
  api.sandbox.setKnobs({ latencyMs: 0, errorRate: 0, burst429: 0, retryAfterSeconds: 1, hang: null });
  api.setEnv({ ATTESTO_API_KEY: api.sandbox.apiKey });
});

const verify = (body: unknown = { productId: 'premium_monthly', transactionId, type: 'subscription' }) =>
  api.call('POST', '/api/iap/verify/apple', { body });

function unavailable(res: Awaited<ReturnType<ContractApi['call']>>) {
  expect(res.status).toBe(503);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(res.json.error).toBe('SERVICE_UNAVAILABLE');
  expect(res.json).not.toHaveProperty('valid');
}

describe('Attesto trouble', () => {
  it('answers 503 with Retry-After when Attesto keeps answering 429', async () => {
    api.sandbox.setKnobs({ burst429: 2, retryAfterSeconds: 1 });
    unavailable(await verify());
    expect(api.sandbox.knobs().burst429).toBe(0);
    // Once Attesto recovers, the same request succeeds.
    sdkVerifyOkSchema.parse((await verify()).json);
  });

  it('answers 503 with Retry-After when Attesto answers 502', async () => {
    api.sandbox.setKnobs({ errorRate: 1 });
    unavailable(await verify());
    const google = await api.call('POST', '/api/iap/verify/google', {
      body: { productId: 'premium_monthly', purchaseToken: 'some-token', type: 'subscription' },
    });
    unavailable(google);
  });

  it('answers 503 with Retry-After when Attesto does not answer in time', async () => {
    api.sandbox.setKnobs({ hang: { remaining: 2, afterMs: null } });
    const started = Date.now();
    unavailable(await verify());
    // Inside the SDK's 10 s per attempt (the Attesto client's 7 s budget is pinned on a clock the
    // test moves in attesto-client.test.ts); without a budget, the hang lasts until the test ends.
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 15_000);

  it("answers 502, never 401, when Attesto refuses the backend's API key", async () => {
    api.setEnv({ ATTESTO_API_KEY: 'attesto_test_wrong_key' });
    const res = await verify();
    expect(res.status).toBe(502);
    expect(res.json.error).toBe('UPSTREAM_ERROR');
    expect(JSON.stringify(res.json)).not.toContain('attesto_test_wrong_key');
  });
});

describe('requests', () => {
  it.each([
    ['no productId', { transactionId: '1', type: 'subscription' }, 'productId'],
    ['no transaction id', { productId: 'premium_monthly', type: 'subscription' }, 'transactionId'],
    ['a bad type', { productId: 'premium_monthly', transactionId: '1', type: 'lifetime' }, 'type'],
    ['a number for an id', { productId: 'premium_monthly', transactionId: 1 }, 'transactionId'],
  ])('answers 400 naming the field for %s', async (_name, body, field) => {
    const res = await verify(body);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('INVALID_REQUEST');
    expect(res.json.issues.map((i: { path: string }) => i.path)).toContain(field);
  });

  it('answers 400 for a body that is not JSON, and names purchaseToken for Google', async () => {
    const res = await api.call('POST', '/api/iap/verify/apple', { rawBody: '{"productId":' });
    expect(res.status).toBe(400);
    expect(res.json.issues[0].path).toBe('(body)');
    const google = await api.call('POST', '/api/iap/verify/google', {
      body: { productId: 'premium_monthly' },
    });
    expect(google.status).toBe(400);
    expect(google.json.issues.map((i: { path: string }) => i.path)).toContain('purchaseToken');
  });

  it('answers 400 naming transactions for a malformed restore', async () => {
    for (const body of [
      {},
      { transactions: 'all' },
      { transactions: Array.from({ length: 501 }, () => ({})) },
    ]) {
      const res = await api.call('POST', '/api/iap/restore', { body });
      expect(res.status).toBe(400);
      expect(res.json.issues[0].path).toBe('transactions');
    }
  });

  it('answers 401 without a token or with a bad one, on every user route', async () => {
    for (const [method, path] of [
      ['POST', '/api/iap/verify/apple'],
      ['POST', '/api/iap/verify/google'],
      ['GET', '/api/iap/entitlements'],
      ['POST', '/api/iap/restore'],
      ['POST', '/api/iap/uuid'],
      ['GET', '/api/iap/uuid'],
      ['GET', '/api/iap/products'],
    ] as const) {
      const res = await api.call(method, path, { user: null, body: method === 'POST' ? {} : undefined });
      expect(res.status, `${method} ${path}`).toBe(401);
      const forged = await api.call(method, path, { user: null, headers: { authorization: 'Bearer a.b.c' } });
      expect(forged.status, `${method} ${path}`).toBe(401);
    }
  });

  it('serves products to a signed-in user when PRODUCTS_REQUIRE_AUTH is on', async () => {
    const res = await api.call('GET', '/api/iap/products');
    expect(res.status).toBe(200);
    sdkProductsResponseSchema.parse(res.json);
  });
});
