import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AttestoClientOptions,
  attestoClientFromEnv,
  createAttestoClient,
} from '../../shared/attesto/client';
import { resetAttestoCredentialsCache } from '../../shared/attesto/credentials';
import {
  AttestoAuthError,
  AttestoBadResponseError,
  AttestoInvalidRequestError,
  AttestoUnavailableError,
} from '../../shared/attesto/errors';
import { ConfigError, resetConfigCache } from '../../shared/config';
import { InvalidRequestError } from '../../shared/http/errors';
import { errorResponse } from '../../shared/http/response';

// A real HTTP server on loopback plays Attesto; each test queues the answers it should give.

const API_KEY = 'attesto_test_k3y-that-must-never-leak_0123456789abcdefghijklmn';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}
type Responder = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let queue: Responder[] = [];
let seen: Seen[] = [];
const hanging = new Set<ServerResponse>();

function reply(status: number, body: unknown, headers: Record<string, string> = {}): Responder {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_01TEST', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}
const hang: Responder = (_req, res) => {
  hanging.add(res);
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const next = queue.shift();
      if (next) next(req, res);
      else reply(500, { valid: false, error: 'INTERNAL_ERROR', message: 'no answer queued' })(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  for (const res of hanging) res.destroy();
  hanging.clear();
  queue = [];
  seen = [];
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function client(overrides: Partial<AttestoClientOptions> = {}) {
  return createAttestoClient({ baseUrl: `${baseUrl}/`, apiKey: async () => API_KEY, ...overrides });
}

const appleOk = {
  valid: true,
  environment: 'sandbox',
  appUserId: '3f0c9a52-6a4e-4c59-9d0b-5c1f3e0a7b21',
  version: 'v0.0.24',
  transaction: {
    transactionId: '2000000123456790',
    originalTransactionId: '2000000123456789',
    bundleId: 'com.example.app',
    productId: 'premium_monthly',
    purchaseDate: '2026-01-01T10:00:00.000Z',
    originalPurchaseDate: '2025-12-01T10:00:00.000Z',
    expiresDate: '2026-02-01T10:00:00.000Z',
    type: 'Auto-Renewable Subscription',
    inAppOwnershipType: 'PURCHASED',
    quantity: 1,
    webOrderLineItemId: '2000000011111111',
    revocationDate: null,
    revocationReason: null,
    offerType: null,
    offerIdentifier: null,
    appAccountToken: '3f0c9a52-6a4e-4c59-9d0b-5c1f3e0a7b21',
    storefront: 'USA',
    storefrontId: '143441',
    transactionReason: 'RENEWAL',
    currency: 'USD',
    price: 9990,
    signedTransactionInfo: 'eyJhbGciOiJFUzI1NiJ9.e30.sig',
    rawDecodedPayload: { transactionId: '2000000123456790' },
    someFutureField: 'kept',
  },
};

const googleSubOk = {
  valid: true,
  appUserId: null,
  version: 'v0.0.24',
  purchase: {
    kind: 'androidpublisher#subscriptionPurchaseV2',
    packageName: 'com.example.app',
    productId: 'premium_monthly',
    purchaseToken: 'tok-sub-1',
    startTime: '2026-01-01T10:00:00.123Z',
    expiryTime: '2026-02-01T10:00:00.123Z',
    autoRenewing: true,
    priceCurrencyCode: 'EUR',
    priceAmountMicros: '9990000',
    countryCode: 'DE',
    paymentState: null,
    acknowledgementState: null,
    orderId: 'GPA.1234-5678-9012-34567',
    obfuscatedExternalAccountId: null,
    rawResponse: {
      subscriptionState: 'SUBSCRIPTION_STATE_ACTIVE',
      lineItems: [{ productId: 'premium_monthly' }],
    },
  },
};

const googleProductOk = {
  valid: true,
  appUserId: '3f0c9a52-6a4e-4c59-9d0b-5c1f3e0a7b21',
  version: 'v0.0.24',
  purchase: {
    kind: 'androidpublisher#productPurchase',
    packageName: 'com.example.app',
    productId: 'coins_100',
    purchaseToken: 'tok-prod-1',
    purchaseTimeMillis: '1767261600000',
    purchaseState: 0,
    consumptionState: 0,
    acknowledgementState: 0,
    orderId: 'GPA.9999-0000-1111-22222',
    obfuscatedExternalAccountId: '3f0c9a52-6a4e-4c59-9d0b-5c1f3e0a7b21',
    rawResponse: { purchaseState: 0 },
  },
};

const googleSubRequest = {
  packageName: 'com.example.app',
  productId: 'premium_monthly',
  purchaseToken: 'tok-sub-1',
  type: 'subscription',
} as const;

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('Attesto client: answers', () => {
  it('posts JSON with the bearer key and parses an Apple ok body', async () => {
    queue.push(reply(200, appleOk));
    const result = await client().verifyApple({ transactionId: '2000000123456790' });
    expect(result.valid).toBe(true);
    if (!result.valid) throw new Error('unreachable');
    expect(result.transaction.originalTransactionId).toBe('2000000123456789');
    expect(result.transaction.price).toBe(9990);
    expect(result.appUserId).toBe(appleOk.appUserId);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/apple/verify' });
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(seen[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ transactionId: '2000000123456790' });
  });

  it('parses Google subscription and product bodies', async () => {
    queue.push(reply(200, googleSubOk), reply(200, googleProductOk));
    const sub = await client().verifyGoogle(googleSubRequest);
    expect(sub.valid && sub.purchase.kind).toBe('androidpublisher#subscriptionPurchaseV2');
    const product = await client().verifyGoogle({
      packageName: 'com.example.app',
      productId: 'coins_100',
      purchaseToken: 'tok-prod-1',
      type: 'product',
    });
    expect(product.valid && product.purchase.kind).toBe('androidpublisher#productPurchase');
    expect(seen.map((s) => s.url)).toEqual(['/v1/google/verify', '/v1/google/verify']);
    expect(JSON.parse(seen[1]?.body ?? '')).toMatchObject({ type: 'product', purchaseToken: 'tok-prod-1' });
  });

  it('returns a domain rejection instead of throwing', async () => {
    queue.push(
      reply(200, {
        valid: false,
        error: 'TRANSACTION_NOT_FOUND',
        message: 'Transaction not found',
        version: 'v1',
      }),
    );
    await expect(client().verifyApple({ transactionId: '1' })).resolves.toMatchObject({
      valid: false,
      error: 'TRANSACTION_NOT_FOUND',
      message: 'Transaction not found',
    });
  });

  it('refuses an invalid request before calling Attesto', async () => {
    const error = await caught(
      client().verifyGoogle({ ...googleSubRequest, type: 'consumable' as 'product' }),
    );
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(seen).toHaveLength(0);
  });
});

describe('Attesto client: retries and the time budget', () => {
  it('retries a 429 once, after the Retry-After delay', async () => {
    queue.push(
      reply(429, { valid: false, error: 'RATE_LIMITED', message: 'slow down' }, { 'retry-after': '0.3' }),
      reply(200, appleOk),
    );
    const slept: number[] = [];
    const result = await client({
      sleep: async (ms) => {
        slept.push(ms);
      },
    }).verifyApple({ transactionId: '2000000123456790' });
    expect(result.valid).toBe(true);
    expect(seen).toHaveLength(2);
    // One pause, exactly the delay Attesto asked for.
    expect(slept).toEqual([300]);
  });

  it('honours details.retryAfterSeconds when there is no header', async () => {
    queue.push(
      reply(429, {
        valid: false,
        error: 'RATE_LIMITED',
        message: 'quota',
        details: { retryAfterSeconds: 0.2 },
      }),
      reply(200, googleSubOk),
    );
    await client().verifyGoogle(googleSubRequest);
    expect((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(180);
  });

  it('gives up at once when Retry-After is beyond the budget, passing the delay on', async () => {
    queue.push(
      reply(429, { valid: false, error: 'RATE_LIMITED', message: 'slow down' }, { 'retry-after': '30' }),
    );
    const slept: number[] = [];
    const error = await caught(
      client({
        sleep: async (ms) => {
          slept.push(ms);
        },
      }).verifyApple({ transactionId: '1' }),
    );
    expect(slept).toEqual([]);
    expect(error).toBeInstanceOf(AttestoUnavailableError);
    expect((error as AttestoUnavailableError).retryAfterSeconds).toBe(30);
    expect(seen).toHaveLength(1);
    const response = errorResponse(error, 'req-1');
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
  });

  it('answers 503 after a second 502, without a third try', async () => {
    const upstream = {
      valid: false,
      error: 'APPLE_API_ERROR',
      message: 'Apple API request failed',
      details: { status: 500 },
    };
    queue.push(reply(502, upstream), reply(502, upstream), reply(200, appleOk));
    const error = await caught(client().verifyApple({ transactionId: '1' }));
    expect(error).toBeInstanceOf(AttestoUnavailableError);
    expect((error as AttestoUnavailableError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((error as AttestoUnavailableError).context).toMatchObject({
      status: 502,
      attestoCode: 'APPLE_API_ERROR',
    });
    expect(seen).toHaveLength(2);
  });

  it('retries a dropped connection', async () => {
    queue.push((_req, res) => res.socket?.destroy(), reply(200, appleOk));
    await expect(client().verifyApple({ transactionId: '1' })).resolves.toMatchObject({ valid: true });
    expect(seen).toHaveLength(2);
  });

  // The hangs below last until the test ends; each bound is far below what a missing timeout costs.
  it('cuts each hanging attempt at the attempt timeout, and tries twice', async () => {
    queue.push(hang, hang);
    const started = Date.now();
    const error = await caught(
      client({ timeBudgetMs: 30_000, attemptTimeoutMs: 500 }).verifyApple({ transactionId: '1' }),
    );
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(AttestoUnavailableError);
    expect(error.message).toMatch(/did not answer within/);
    expect(seen).toHaveLength(2);
    // Two 500 ms attempts plus the pause between them; without the attempt timeout, the 30 s budget.
    expect(elapsed).toBeGreaterThanOrEqual(1_000);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('cuts a hanging attempt at the time budget when the attempt timeout is longer', async () => {
    queue.push(hang, hang);
    const started = Date.now();
    const error = await caught(
      client({ timeBudgetMs: 2_000, attemptTimeoutMs: 60_000 }).verifyApple({ transactionId: '1' }),
    );
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(AttestoUnavailableError);
    expect(seen).toHaveLength(1);
    // Without the budget, the 60 s attempt timeout.
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(15_000);
  });

  describe('on a clock the test moves (Attesto never answers)', () => {
    let calls = 0;
    /** Never answers; fails like fetch when the client gives up on it. */
    const neverAnswers = (_url: unknown, init?: RequestInit) => {
      calls += 1;
      return new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    };
    /** Milliseconds until the call settles, to the millisecond. */
    async function settlesAfter(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
      let outcome: unknown;
      let settled = false;
      const pending = call().then(
        () => {
          settled = true;
        },
        (error: unknown) => {
          settled = true;
          outcome = error;
        },
      );
      let ms = 0;
      while (!settled && ms < 60_000) {
        await vi.advanceTimersByTimeAsync(1);
        ms += 1;
      }
      await pending;
      return { ms, error: outcome };
    }

    afterEach(() => {
      vi.useRealTimers();
      calls = 0;
    });

    it('gives up after the default budget of 7 s, well before API Gateway (29 s) would', async () => {
      vi.useFakeTimers();
      const { ms, error } = await settlesAfter(() =>
        client({ fetch: neverAnswers as typeof fetch }).verifyApple({ transactionId: '1' }),
      );
      expect(error).toBeInstanceOf(AttestoUnavailableError);
      expect(ms).toBe(7_000);
      expect(calls).toBe(2);
    });

    it('stops at the caller deadline', async () => {
      vi.useFakeTimers();
      const { ms, error } = await settlesAfter(() =>
        client({ fetch: neverAnswers as typeof fetch }).verifyApple(
          { transactionId: '1' },
          { deadline: Date.now() + 400 },
        ),
      );
      expect(error).toBeInstanceOf(AttestoUnavailableError);
      expect(ms).toBe(400);
      expect(calls).toBe(1);
    });
  });

  it('does not call Attesto at all when the deadline has passed', async () => {
    const error = await caught(client().verifyApple({ transactionId: '1' }, { deadline: Date.now() - 1 }));
    expect(error).toBeInstanceOf(AttestoUnavailableError);
    expect(seen).toHaveLength(0);
  });
});

describe('Attesto client: failures that are ours or Attesto’s', () => {
  it('maps 401 to a 502 AttestoAuthError, never a 401, and never leaks the key', async () => {
    queue.push(reply(401, { valid: false, error: 'UNAUTHENTICATED', message: 'Invalid API key' }));
    const error = await caught(client().verifyApple({ transactionId: '1' }));
    expect(error).toBeInstanceOf(AttestoAuthError);
    expect(seen).toHaveLength(1);
    const response = errorResponse(error, 'req-1');
    expect(response.statusCode).toBe(502);
    expect(`${error.message}${response.body}`).not.toContain(API_KEY);
    expect(error.message).toContain('req_01TEST');
  });

  it('maps 403 and 400 CREDENTIALS_MISSING to AttestoAuthError', async () => {
    queue.push(
      reply(403, { valid: false, error: 'FORBIDDEN', message: 'no' }),
      reply(400, {
        valid: false,
        error: 'CREDENTIALS_MISSING',
        message: 'Google credentials are not configured',
      }),
    );
    expect(await caught(client().verifyApple({ transactionId: '1' }))).toBeInstanceOf(AttestoAuthError);
    expect(await caught(client().verifyGoogle(googleSubRequest))).toBeInstanceOf(AttestoAuthError);
  });

  it('maps a store credential failure behind Attesto to AttestoAuthError without retrying', async () => {
    queue.push(
      reply(502, { valid: false, error: 'GOOGLE_API_ERROR', message: 'x', details: { status: 403 } }),
    );
    expect(await caught(client().verifyGoogle(googleSubRequest))).toBeInstanceOf(AttestoAuthError);
    expect(seen).toHaveLength(1);
  });

  it('maps 400 INVALID_REQUEST to our 400 naming Attesto’s complaint', async () => {
    queue.push(
      reply(400, {
        valid: false,
        error: 'INVALID_REQUEST',
        message: 'Invalid request body',
        details: {
          issues: [
            { path: ['purchaseToken'], message: 'Too big: expected string to have <=4096 characters' },
          ],
        },
      }),
    );
    const error = await caught(client().verifyGoogle(googleSubRequest));
    expect(error).toBeInstanceOf(AttestoInvalidRequestError);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.message).toContain('Invalid request body');
    const response = errorResponse(error, 'req-1');
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body ?? '{}').issues).toEqual([
      { path: 'purchaseToken', message: 'Too big: expected string to have <=4096 characters' },
    ]);
  });

  it('maps a 200 that is not JSON to AttestoBadResponseError (502)', async () => {
    queue.push(reply(200, '<html>gateway</html>'));
    const error = await caught(client().verifyApple({ transactionId: '1' }));
    expect(error).toBeInstanceOf(AttestoBadResponseError);
    expect(errorResponse(error, 'r').statusCode).toBe(502);
  });

  it('maps a 200 that breaks the schema to AttestoBadResponseError naming the field', async () => {
    const broken = structuredClone(appleOk) as Record<string, unknown> & {
      transaction: Record<string, unknown>;
    };
    delete broken.transaction.originalTransactionId;
    queue.push(reply(200, broken));
    const error = await caught(client().verifyApple({ transactionId: '1' }));
    expect(error).toBeInstanceOf(AttestoBadResponseError);
    expect(error.message).toContain('transaction.originalTransactionId');
  });

  it('refuses a product body for a subscription request', async () => {
    queue.push(reply(200, googleProductOk));
    expect(await caught(client().verifyGoogle(googleSubRequest))).toBeInstanceOf(AttestoBadResponseError);
  });

  it('maps an unexpected 4xx (wrong base URL) to AttestoBadResponseError without retrying', async () => {
    queue.push(reply(404, 'Not Found'));
    expect(await caught(client().verifyApple({ transactionId: '1' }))).toBeInstanceOf(
      AttestoBadResponseError,
    );
    expect(seen).toHaveLength(1);
  });
});

describe('attestoClientFromEnv', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    resetConfigCache();
    resetAttestoCredentialsCache();
  });

  function setEnv(vars: Record<string, string | undefined>) {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetConfigCache();
    resetAttestoCredentialsCache();
  }

  it('builds one client from ATTESTO_URL and the configured key', async () => {
    setEnv({ ATTESTO_URL: `${baseUrl}/`, ATTESTO_API_KEY: API_KEY, ATTESTO_API_KEY_SECRET_ARN: undefined });
    const first = attestoClientFromEnv();
    expect(attestoClientFromEnv()).toBe(first);
    queue.push(reply(200, appleOk));
    await first.verifyApple({ transactionId: '2000000123456790' });
    expect(seen[0]?.url).toBe('/v1/apple/verify');
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('names ATTESTO_URL when it is missing or not a URL', () => {
    for (const value of [undefined, 'not a url', 'ftp://attesto.example']) {
      setEnv({ ATTESTO_URL: value });
      expect(() => attestoClientFromEnv()).toThrow(ConfigError);
      expect(() => attestoClientFromEnv()).toThrow(/ATTESTO_URL/);
    }
  });

  it('names ATTESTO_API_KEY when no key is configured, without calling Attesto', async () => {
    setEnv({ ATTESTO_URL: baseUrl, ATTESTO_API_KEY: undefined, ATTESTO_API_KEY_SECRET_ARN: undefined });
    await expect(attestoClientFromEnv().verifyApple({ transactionId: '1' })).rejects.toThrow(
      /ATTESTO_API_KEY/,
    );
    expect(seen).toHaveLength(0);
  });
});
