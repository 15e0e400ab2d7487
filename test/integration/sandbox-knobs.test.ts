import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import { appleVerifyOkSchema, attestoErrorSchema } from '../../shared/attesto/schemas';

// The misbehaviour knobs tests and benchmarks rely on: 429 bursts with Retry-After, upstream 502s,
// added latency, hangs — and the counters that show how many verify calls a backend made.

const API_KEY = 'attesto_test_knobs';
let sandbox: AttestoSandbox;
let transactionId: string;

beforeAll(async () => {
  sandbox = await startAttestoSandbox({
    apiKey: API_KEY,
    webhookSecret: 'knobs-secret-0123456789abcdefghijklmnopqrstu',
    packageName: 'com.example.app',
    bundleId: 'com.example.app',
  });
  transactionId = (await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' })).purchase.token;
});

afterEach(() => {
  sandbox.setKnobs({ latencyMs: 0, errorRate: 0, burst429: 0, hang: null });
  sandbox.resetStats();
});

afterAll(async () => {
  await sandbox.stop();
});

function verifyApple(signal?: AbortSignal) {
  return fetch(`${sandbox.url}/v1/apple/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ transactionId }),
    ...(signal ? { signal } : {}),
  });
}

async function control(method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await fetch(`${sandbox.url}/_sandbox${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('knobs', () => {
  it('answers the next N verify calls 429 RATE_LIMITED with Retry-After, then recovers', async () => {
    await control('POST', '/knobs', { burst429: 2, retryAfterSeconds: 3 });

    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await verifyApple();
      statuses.push(response.status);
      const body = await response.json();
      if (response.status === 429) {
        expect(response.headers.get('retry-after')).toBe('3');
        const error = attestoErrorSchema.parse(body);
        expect(error.error).toBe('RATE_LIMITED');
        expect(error.details).toEqual({ retryAfterSeconds: 3 });
      } else {
        appleVerifyOkSchema.parse(body);
      }
    }
    expect(statuses).toEqual([429, 429, 200]);
  });

  it('errorRate 1 answers 502 APPLE_API_ERROR / GOOGLE_API_ERROR with details', async () => {
    sandbox.setKnobs({ errorRate: 1 });
    const apple = await verifyApple();
    const google = await fetch(`${sandbox.url}/v1/google/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        packageName: 'com.example.app',
        productId: 'p',
        purchaseToken: 't',
        type: 'subscription',
      }),
    });

    expect([apple.status, google.status]).toEqual([502, 502]);
    const appleError = attestoErrorSchema.parse(await apple.json());
    const googleError = attestoErrorSchema.parse(await google.json());
    expect(appleError.error).toBe('APPLE_API_ERROR');
    expect(appleError.details).toHaveProperty('status');
    expect(googleError.error).toBe('GOOGLE_API_ERROR');
    expect(googleError.details).toHaveProperty('googleErrorCode');
  });

  it('errorRate 0.5 fails some calls and answers the others', async () => {
    sandbox.setKnobs({ errorRate: 0.5 });
    const statuses = await Promise.all(Array.from({ length: 40 }, () => verifyApple().then((r) => r.status)));
    const failures = statuses.filter((s) => s === 502).length;
    expect(failures).toBeGreaterThan(8);
    expect(failures).toBeLessThan(32);
    expect(statuses.every((s) => s === 200 || s === 502)).toBe(true);
  });

  it('adds latency to every verify answer', async () => {
    await control('POST', '/knobs', { latencyMs: 150 });
    const started = performance.now();
    const response = await verifyApple();
    const elapsed = performance.now() - started;
    expect(response.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(145);
  });

  it('hangs: never answers until the caller gives up, or answers late', async () => {
    sandbox.setKnobs({ hang: { remaining: 1, afterMs: null } });
    await expect(verifyApple(AbortSignal.timeout(200))).rejects.toThrow();
    // The hang was used up: the next call answers.
    expect((await verifyApple()).status).toBe(200);

    sandbox.setKnobs({ hang: { remaining: 1, afterMs: 120 } });
    const started = performance.now();
    expect((await verifyApple()).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
  });

  it('counts verify calls by platform, status and outcome (GET /_sandbox/stats)', async () => {
    sandbox.setKnobs({ burst429: 1 });
    await verifyApple();
    await verifyApple();
    await fetch(`${sandbox.url}/v1/apple/verify`, { method: 'POST', body: '{}' });

    const { json: stats } = await control('GET', '/stats');
    expect(stats.verify).toEqual({ apple: 2, google: 0, total: 2 });
    expect(stats.byStatus).toEqual({ '200': 1, '401': 1, '429': 1 });
    expect(stats.byOutcome).toEqual({ valid: 1, RATE_LIMITED: 1, UNAUTHENTICATED: 1 });
  });

  it('refuses bad knob values with a message naming the knob', async () => {
    const bad = await control('POST', '/knobs', { errorRate: 2 });
    expect(bad.status).toBe(400);
    expect(String(bad.json.message)).toContain('errorRate');
    const unknown = await control('POST', '/knobs', { latency: 5 });
    expect(unknown.status).toBe(400);
  });

  it('takes latency and errorRate from the start options', async () => {
    const slow = await startAttestoSandbox({
      apiKey: API_KEY,
      webhookSecret: 'x'.repeat(44),
      packageName: 'com.example.app',
      bundleId: 'com.example.app',
      latencyMs: 40,
      errorRate: 1,
    });
    try {
      expect(slow.knobs()).toMatchObject({ latencyMs: 40, errorRate: 1 });
      const response = await fetch(`${slow.url}/v1/apple/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ transactionId: '1' }),
      });
      expect(response.status).toBe(502);
    } finally {
      await slow.stop();
    }
  });
});
