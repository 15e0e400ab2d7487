import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAttestoPayload } from '../../shared/attesto/webhook-signature';
import { MAX_INGEST_BODY_BYTES } from '../../shared/ingest/http-edge';
import {
  BODY_PATHS,
  type BodyEndpoint,
  bodyArbitrary,
  bodyCorpus,
  type CorpusCase,
  inParallel,
  prototypeFingerprint,
  queueDepth,
  type RawAnswer,
  sendRaw,
  storeSnapshot,
  WELL_FORMED,
} from '../support/bad-input-corpus';
import { type ContractApi, startContractApi } from '../support/contract-api';
import {
  sdkEntitlementsResponseSchema,
  sdkProductsResponseSchema,
  sdkRestoreResponseSchema,
  sdkUuidResponseSchema,
  sdkVerifyRejectedSchema,
} from '../support/sdk-schemas';

// Every route of the HTTP API against malformed and hostile input, sent as raw HTTP through the
// local API emulator (JWT authorizer, payload-2.0 events, the real handlers) over DynamoDB Local
// and the Attesto sandbox. Whatever arrives: never a 5xx; a 4xx whose JSON names the problem,
// or the SDK's domain answer when the request is well formed; no write to any table, nothing
// queued, no Attesto call for a refused request, and no prototype polluted.

const USER = 'corpus-user';
const WEBHOOK_SECRET = 'corpus-webhook-secret-0123456789abcdefghijklmn';
const FUZZ_RUNS = 250;

let api: ContractApi;
let auth: Record<string, string>;
let uuid: string;
let before: Record<string, string[]>;
let prototypesBefore: ReturnType<typeof prototypeFingerprint>;
const sent = { cases: 0, fuzz: 0 };

beforeAll(async () => {
  api = await startContractApi();
  // One user sends the whole corpus, far past a user's Attesto call limit (tested on its own in
  // attesto-call-limit.test.ts); here every well-formed request must reach its domain answer.
  api.setEnv({
    ATTESTO_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ATTESTO_WEBHOOK_SECRET_PREVIOUS: undefined,
    ATTESTO_CALLS_PER_USER: '10000',
  });
  auth = { authorization: `Bearer ${await api.token(USER)}` };
  // Something in every table, so "unchanged" means more than "still empty".
  const bought = (await api.sandbox.buy({ platform: 'apple', productId: 'premium_monthly' })).purchase;
  const seeded = await api.call('POST', '/api/iap/verify/apple', {
    user: 'seed-user',
    body: { productId: 'premium_monthly', transactionId: bought.token, type: 'subscription' },
  });
  expect(seeded.json.valid).toBe(true);
  // The uuid route mints on first use; minted now, every later call must only read it.
  uuid = sdkUuidResponseSchema.parse((await api.call('POST', '/api/iap/uuid', { user: USER })).json).uuid;
  before = await storeSnapshot(api.resources);
  expect(before.PURCHASES_TABLE?.length).toBeGreaterThan(0);
  expect(before.USER_IDS_TABLE?.length).toBeGreaterThan(0);
  prototypesBefore = prototypeFingerprint();
});
afterAll(async () => {
  await api?.stop();
});

const attestoCalls = () => api.sandbox.stats().verify.total;

function headersFor(c: Pick<CorpusCase, 'contentType' | 'headers'>, extra: Record<string, string> = auth) {
  return {
    ...extra,
    ...(c.contentType === undefined ? {} : { 'content-type': c.contentType }),
    ...c.headers,
  };
}

/** What a 4xx must say: an error code, and a message (or issues) naming each of `names`. */
function expectNamedProblem(res: RawAnswer, code: string, names: string[], where: string) {
  expect(res.json, where).toBeTypeOf('object');
  expect(res.json.error, where).toBe(code);
  expect(res.json.message, where).toMatch(/\S/);
  const said = [
    res.json.message,
    ...((res.json.issues ?? []) as { path: string; message: string }[]).map((i) => `${i.path}: ${i.message}`),
  ].join(' | ');
  for (const name of names) expect(said, where).toContain(name);
}

function expectDomainAnswer(endpoint: BodyEndpoint, res: RawAnswer, where: string) {
  expect(res.status, where).toBe(200);
  if (endpoint === 'restore') {
    const body = sdkRestoreResponseSchema.parse(res.json);
    expect(body, where).toEqual({ valid: true, entitlements: [] });
  } else {
    // Nothing in the corpus names a purchase Attesto knows: a domain "no", with its code.
    expect(sdkVerifyRejectedSchema.parse(res.json).error, where).toMatch(/^[A-Z_]+$/);
  }
}

describe.each(['apple', 'google', 'restore'] as const)('POST %s: the fixed corpus', (endpoint) => {
  const corpus = bodyCorpus(endpoint);

  it(`answers each of its ${corpus.length} cases as expected`, async () => {
    for (const c of corpus) {
      const calls = attestoCalls();
      const res = await sendRaw(api.url, {
        method: 'POST',
        path: BODY_PATHS[endpoint],
        headers: headersFor(c),
        ...(c.body === undefined ? {} : { body: c.body }),
      });
      sent.cases++;
      const where = `${endpoint} / ${c.name} → ${res.status} ${res.text.slice(0, 300)}`;
      expect(res.status, where).toBeLessThan(500);
      if (c.expect.kind === 'domain') {
        expectDomainAnswer(endpoint, res, where);
        continue;
      }
      expect(res.status, where).toBe(c.expect.status);
      if (c.expect.kind === 'gateway') expect(res.json?.message, where).toMatch(/\S/);
      else expectNamedProblem(res, c.expect.code, c.expect.names, where);
      // Refused before anything was asked of Attesto.
      expect(attestoCalls(), `${where}: Attesto was called`).toBe(calls);
    }
  }, 20_000);
});

describe.each(['apple', 'google', 'restore'] as const)('POST %s: arbitrary bodies', (endpoint) => {
  it(`answers ${FUZZ_RUNS} arbitrary JSON bodies with a 400 naming the problem or a domain answer`, async () => {
    let wellFormed = 0;
    await fc.assert(
      fc.asyncProperty(bodyArbitrary(endpoint), async (value) => {
        const text = JSON.stringify(value);
        const calls = attestoCalls();
        const res = await sendRaw(api.url, {
          method: 'POST',
          path: BODY_PATHS[endpoint],
          headers: { ...auth, 'content-type': 'application/json' },
          body: text ?? '',
        });
        sent.fuzz++;
        const where = `${endpoint} ${text?.slice(0, 200)} → ${res.status} ${res.text.slice(0, 300)}`;
        if (res.status === 200) {
          expectDomainAnswer(endpoint, res, where);
          wellFormed++;
          return;
        }
        expect(res.status, where).toBe(400);
        const issues = res.json.issues as { path: string; message: string }[];
        expect(issues.length, where).toBeGreaterThan(0);
        expectNamedProblem(
          res,
          'INVALID_REQUEST',
          issues.map((i) => i.path),
          where,
        );
        // Our own validation refused it, not Attesto's.
        expect(attestoCalls(), where).toBe(calls);
        if (typeof value !== 'object' || value === null || Array.isArray(value))
          expect(
            issues.map((i) => i.path),
            where,
          ).toContain('(body)');
      }),
      { numRuns: FUZZ_RUNS },
    );
    // Both paths are exercised: bodies that pass validation and reach Attesto, and refused ones.
    console.info(`${endpoint}: ${wellFormed} of ${FUZZ_RUNS} arbitrary bodies were well formed`);
    expect(wellFormed).toBeGreaterThanOrEqual(FUZZ_RUNS / 10);
    expect(wellFormed).toBeLessThan(FUZZ_RUNS);
  }, 30_000);
});

describe('routes without a body', () => {
  const junk = bodyCorpus('apple').filter((c) => c.expect.kind !== 'gateway');
  const routes = [
    ['GET', '/api/iap/entitlements'],
    ['GET', '/api/iap/products'],
    ['POST', '/api/iap/uuid'],
    ['GET', '/api/iap/uuid'],
  ] as const;

  function expectUsualAnswer(path: string, res: RawAnswer, where: string) {
    expect(res.status, where).toBe(200);
    if (path.endsWith('/entitlements'))
      expect(sdkEntitlementsResponseSchema.parse(res.json).entitlements).toEqual([]);
    else if (path.endsWith('/products')) sdkProductsResponseSchema.parse(res.json);
    else expect(sdkUuidResponseSchema.parse(res.json).uuid, where).toBe(uuid);
  }

  it.each(routes)('%s %s ignores whatever body, content type and query it is sent', async (method, path) => {
    const queries = [
      '',
      '?userId=seed-user',
      '?__proto__[polluted]=yes&constructor[prototype][x]=1',
      '?q=%ED%A0%80%00%F0%9F%98%80%FF',
    ];
    await inParallel(junk, 8, async (c, i) => {
      const query = queries[i % queries.length] as string;
      const res = await sendRaw(api.url, {
        method,
        path: `${path}${query}`,
        headers: headersFor(c, { ...auth, 'x-user-id': 'seed-user', 'x-amzn-oidc-identity': 'seed-user' }),
        ...(c.body === undefined ? {} : { body: c.body }),
      });
      sent.cases++;
      expectUsualAnswer(
        path,
        res,
        `${method} ${path}${query} / ${c.name} → ${res.status} ${res.text.slice(0, 200)}`,
      );
    });
    const huge = await sendRaw(api.url, {
      method,
      path,
      headers: { ...auth, 'content-type': 'application/json' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
    });
    sent.cases++;
    expect(huge.status).toBe(413);
    expect(huge.json.message).toMatch(/too large/i);
  });

  it.each(['PUT', 'DELETE', 'PATCH'])('answers 404 to %s on every route', async (method) => {
    for (const path of [
      ...new Set([...routes.map(([, p]) => p), ...Object.values(BODY_PATHS), '/attesto-webhook']),
    ]) {
      const res = await sendRaw(api.url, {
        method,
        path,
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(WELL_FORMED.apple),
      });
      sent.cases++;
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.message).toBe('Not Found');
    }
  });
});

describe('POST /attesto-webhook', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const signatures: [string, (raw: string | Buffer) => Record<string, string>][] = [
    ['no signature', () => ({})],
    ['an empty signature', () => ({ 'x-attesto-signature': '' })],
    ['a garbage signature', () => ({ 'x-attesto-signature': 'garbage,,==' })],
    [
      'a signature of another body',
      () => ({ 'x-attesto-signature': signAttestoPayload('another body', WEBHOOK_SECRET, now()) }),
    ],
    [
      'the wrong secret',
      (raw) => ({ 'x-attesto-signature': signAttestoPayload(raw, `${WEBHOOK_SECRET}x`, now()) }),
    ],
    [
      'a stale signature',
      (raw) => ({ 'x-attesto-signature': signAttestoPayload(raw, WEBHOOK_SECRET, now() - 310) }),
    ],
    [
      'a signature from the future',
      (raw) => ({ 'x-attesto-signature': signAttestoPayload(raw, WEBHOOK_SECRET, now() + 310) }),
    ],
    [
      'a signature header repeated',
      (raw) => ({ 'x-attesto-signature': `${signAttestoPayload(raw, WEBHOOK_SECRET, now())},t=1` }),
    ],
  ];
  const corpus = bodyCorpus('apple');

  it(`refuses ${corpus.length} bodies under ${signatures.length} kinds of bad signature, queueing nothing`, async () => {
    await inParallel(corpus, 8, async (c) => {
      for (const [label, sign] of signatures) {
        const res = await sendRaw(api.url, {
          method: 'POST',
          path: '/attesto-webhook',
          headers: headersFor(c, { 'x-attesto-event-id': 'evt_corpus', ...sign(c.body ?? '') }),
          ...(c.body === undefined ? {} : { body: c.body }),
        });
        sent.cases++;
        const where = `${c.name} with ${label} → ${res.status} ${res.text.slice(0, 200)}`;
        const bytes = c.body === undefined ? 0 : Buffer.byteLength(c.body);
        if (bytes > 10 * 1024 * 1024) {
          expect(res.status, where).toBe(413);
          expect(res.json.message, where).toMatch(/too large/i);
        } else if (bytes > MAX_INGEST_BODY_BYTES) {
          expect(res.status, where).toBe(413);
          expectNamedProblem(res, 'PAYLOAD_TOO_LARGE', [String(MAX_INGEST_BODY_BYTES)], where);
        } else {
          // Deliberately no detail for the caller: the reason is only logged.
          expect(res.status, where).toBe(401);
          expect(res.json, where).toEqual({ error: 'UNAUTHORIZED' });
        }
        // Only the big bodies: a 10 MB one takes a while to repeat for every signature.
        if (bytes > MAX_INGEST_BODY_BYTES) break;
      }
    });
    expect(await queueDepth(api.resources)).toBe(0);
  }, 30_000);

  it(`refuses ${FUZZ_RUNS} arbitrary bodies with arbitrary signature headers`, async () => {
    await fc.assert(
      fc.asyncProperty(
        bodyArbitrary('apple'),
        fc.oneof(
          fc.string({ unit: 'binary-ascii' }),
          fc
            .tuple(
              fc.integer({ min: 0, max: 2 ** 40 }),
              fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
            )
            .map(([t, v]) => `t=${t},v1=${v}`),
          fc.constant(null),
        ),
        async (value, signature) => {
          const body = JSON.stringify(value) ?? '';
          const res = await sendRaw(api.url, {
            method: 'POST',
            path: '/attesto-webhook',
            headers: {
              'content-type': 'application/json',
              // Header values cannot carry control characters; those cases are the header-less ones.
              ...(signature === null
                ? {}
                : { 'x-attesto-signature': signature.replace(/[^\x20-\x7e]/g, '') }),
            },
            body,
          });
          sent.fuzz++;
          expect(res.status, `${body.slice(0, 200)} / ${signature}`).toBe(401);
          expect(res.json).toEqual({ error: 'UNAUTHORIZED' });
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
    expect(await queueDepth(api.resources)).toBe(0);
  }, 30_000);
});

describe('afterwards', () => {
  it('wrote nothing: every table and the webhook queue are as they were', async () => {
    console.info(`${sent.cases} corpus requests and ${sent.fuzz} arbitrary ones`);
    expect(sent.cases).toBeGreaterThan(500);
    expect(sent.fuzz).toBeGreaterThanOrEqual(4 * FUZZ_RUNS);
    expect(await storeSnapshot(api.resources)).toEqual(before);
  });

  it('polluted no prototype', () => {
    expect(prototypeFingerprint()).toEqual(prototypesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('still queues a correctly signed delivery (the queue check can see one)', async () => {
    const raw = JSON.stringify({ event: 'test', eventId: 'evt_corpus_control' });
    const res = await sendRaw(api.url, {
      method: 'POST',
      path: '/attesto-webhook',
      headers: {
        'content-type': 'application/json',
        'x-attesto-signature': signAttestoPayload(raw, WEBHOOK_SECRET, Math.floor(Date.now() / 1000)),
      },
      body: raw,
    });
    expect(res.status).toBe(200);
    expect(await queueDepth(api.resources)).toBe(1);
  });
});
