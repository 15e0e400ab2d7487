import { createHmac } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionTimeoutSeconds } from '../../dev/local/function-handlers';
import { type HttpApi, startHttpApi } from '../../dev/local/http-api';
import { isTextMediaType } from '../../dev/local/http-api-event';
import type { LocalResources } from '../../dev/local/provision';
import { routeTable } from '../../infra/routes';
import { resetConfigCache } from '../../shared/config';
import { UNDECODABLE_EVENT_TYPE } from '../../shared/ingest/enqueue';
import { decodePubSubMessage } from '../../shared/ingest/google/pubsub-message';
import { MAX_INGEST_BODY_BYTES } from '../../shared/ingest/http-edge';
import {
  attributeText,
  BODY_ENCODING_ATTRIBUTE,
  EVENT_ID_ATTRIBUTE,
  EVENT_TYPE_ATTRIBUTE,
} from '../../shared/ingest/queue-message';
import { appleEnv } from '../integration/notifications-test-kit';
import { inParallel, prototypeFingerprint, type RawAnswer, sendRaw } from '../support/bad-input-corpus';
import { e2eHandlerResolver } from '../support/e2e-functions';
import {
  type GoogleTestOidc,
  startGoogleTestOidc,
  TEST_AUDIENCE,
  TEST_PUSH_SERVICE_ACCOUNT,
} from '../support/google-test-oidc';
import { useLocalAws } from '../support/local-aws';
import {
  appleBodyArbitrary,
  appleCorpus,
  appleSignedPayload,
  asciiJson,
  depthOf,
  drain,
  googleCorpus,
  googleNotifications,
  googlePushArbitrary,
  OTHER_PACKAGE,
  OUR_PACKAGE,
  pushOf,
  type StoreCase,
} from '../support/store-endpoint-corpus';

// The two store endpoints (POST /webhooks/apple, POST /webhooks/google) against malformed and
// hostile input, sent as raw HTTP through the local API emulator with both routes on and the
// real settings (the test PKI's root for Apple, a local JWKS for Google's push tokens).
// Apple: 400 naming signedPayload when there is none, 401 without detail when it does not
// verify, 413 past 256 KiB, never a 5xx, nothing queued. Google: 401 for anything without a
// valid push token, nothing queued; with one, an undecodable push is acknowledged and queued as
// google.undecodable (so it reaches the dead-letter queue), another app's notification is
// acknowledged and dropped. No prototype polluted by any of it.

const FUZZ_RUNS = 250;
const APPLE = '/webhooks/apple';
const GOOGLE = '/webhooks/google';

let resources: LocalResources;
let oidc: GoogleTestOidc;
let api: HttpApi;
let token: string;
let prototypesBefore: ReturnType<typeof prototypeFingerprint>;
const functionErrors: unknown[] = [];
const sent = { cases: 0, fuzz: 0 };

beforeAll(async () => {
  resources = await useLocalAws();
  oidc = await startGoogleTestOidc();
  Object.assign(process.env, appleEnv('Sandbox,Production'), {
    GOOGLE_PACKAGE_NAME: OUR_PACKAGE,
    GOOGLE_JWKS_URL: oidc.jwksUrl,
    GOOGLE_PUSH_AUDIENCE: TEST_AUDIENCE,
    GOOGLE_PUSH_SERVICE_ACCOUNT: TEST_PUSH_SERVICE_ACCOUNT,
  });
  resetConfigCache();
  api = await startHttpApi({
    routes: routeTable({ appleNotifications: true, googleNotifications: true }).filter(
      (r) => r.auth === 'none',
    ),
    resolveHandler: await e2eHandlerResolver(),
    timeoutSeconds: functionTimeoutSeconds,
    onFunctionError: (_fn, error) => functionErrors.push(error),
  });
  token = await oidc.token();
  prototypesBefore = prototypeFingerprint();
});
afterAll(async () => {
  await Promise.all([api?.stop(), oidc?.stop()]);
  for (const name of [
    ...Object.keys(appleEnv()),
    'GOOGLE_PACKAGE_NAME',
    'GOOGLE_JWKS_URL',
    'GOOGLE_PUSH_AUDIENCE',
    'GOOGLE_PUSH_SERVICE_ACCOUNT',
  ])
    delete process.env[name];
});

function send(path: string, c: Omit<StoreCase, 'expect' | 'name'>, headers: Record<string, string> = {}) {
  return sendRaw(api.url, {
    method: 'POST',
    path,
    headers: { ...(c.contentType === undefined ? {} : { 'content-type': c.contentType }), ...headers },
    ...(c.body === undefined ? {} : { body: c.body }),
  });
}

const describeAnswer = (res: RawAnswer) => `${res.status} ${res.text.slice(0, 300)}`;

function expectUnauthorized(res: RawAnswer, where: string) {
  expect(res.status, where).toBe(401);
  // Deliberately no detail for the caller: the reason is only logged.
  expect(res.json, where).toEqual({ error: 'UNAUTHORIZED' });
}

/** The same 413 as the Attesto webhook's: it names the limit. */
const TOO_LARGE = {
  error: 'PAYLOAD_TOO_LARGE',
  message: `Request body exceeds ${MAX_INGEST_BODY_BYTES} bytes`,
};

function expectTooLarge(c: StoreCase, res: RawAnswer, where: string) {
  expect(res.status, where).toBe(413);
  if (c.expect.kind === 'gateway') expect(res.json?.message, where).toMatch(/too large/i);
  else expect(res.json, where).toEqual(TOO_LARGE);
}

const queued = () => depthOf(resources.queueUrl);

describe('POST /webhooks/apple', () => {
  const corpus = appleCorpus();

  it(`answers each of its ${corpus.length} fixed cases with 400, 401 or 413 and queues nothing`, async () => {
    await inParallel(corpus, 8, async (c) => {
      const res = await send(APPLE, c);
      sent.cases++;
      const where = `${c.name} → ${describeAnswer(res)}`;
      switch (c.expect.kind) {
        case 'invalid':
          expect(res.status, where).toBe(400);
          expect(res.json.error, where).toBe('INVALID_REQUEST');
          expect(res.json.message, where).toContain('signedPayload');
          break;
        case 'unauthorized':
          expectUnauthorized(res, where);
          break;
        default:
          expectTooLarge(c, res, where);
      }
    });
    expect(await queued()).toBe(0);
  }, 20_000);

  it(`answers ${FUZZ_RUNS} arbitrary bodies with 400 or 401 and queues nothing`, async () => {
    const counts = { invalid: 0, unauthorized: 0 };
    await fc.assert(
      fc.asyncProperty(appleBodyArbitrary(appleSignedPayload()), async (value) => {
        const text = JSON.stringify(value) ?? '';
        const res = await send(APPLE, { contentType: 'application/json', body: text });
        sent.fuzz++;
        const where = `${text.slice(0, 300)} → ${describeAnswer(res)}`;
        // What the endpoint sees after JSON.parse: own properties only, so a __proto__ key hides nothing.
        const candidate = (JSON.parse(text || 'null') as { signedPayload?: unknown } | null)?.signedPayload;
        if (typeof candidate === 'string' && candidate !== '') {
          expectUnauthorized(res, where);
          counts.unauthorized++;
        } else {
          expect(res.status, where).toBe(400);
          expect(res.json, where).toMatchObject({ error: 'INVALID_REQUEST' });
          expect(res.json.message, where).toContain('signedPayload');
          counts.invalid++;
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
    console.info(
      `apple: ${counts.unauthorized} arbitrary bodies refused 401, ${counts.invalid} answered 400`,
    );
    expect(counts.unauthorized).toBeGreaterThan(FUZZ_RUNS / 4);
    expect(counts.invalid).toBeGreaterThan(FUZZ_RUNS / 10);
    expect(await queued()).toBe(0);
  }, 20_000);
});

describe('POST /webhooks/google without a valid push token', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString());

  /** Authorization headers that must all be refused (undefined: no header at all). */
  async function badAuthorizations(): Promise<[string, string | undefined][]> {
    const t = (claims: Record<string, unknown>, options?: Parameters<GoogleTestOidc['token']>[1]) =>
      oidc.token(claims, options).then((jwt) => `Bearer ${jwt}`);
    const [head, , signature] = token.split('.');
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claimsOf(token))}.`;
    const hsInput = `${b64url({ alg: 'HS256', kid: oidc.kid, typ: 'JWT' })}.${b64url(claimsOf(token))}`;
    const hs256 = `${hsInput}.${createHmac('sha256', 'secret').update(hsInput).digest('base64url')}`;
    return [
      ['no Authorization', undefined],
      ['an empty Authorization', ''],
      ['Bearer alone', 'Bearer'],
      ['Bearer and spaces', 'Bearer   '],
      ['Basic credentials', 'Basic dXNlcjpwYXNzd29yZA=='],
      ['the token without Bearer', token],
      ['the token as Basic', `Basic ${token}`],
      ['a garbage token', 'Bearer garbage'],
      ['three garbage segments', 'Bearer a.b.c'],
      ['odd unicode', `Bearer ${token}\u00e9\u00ff`],
      ['the token twice (a repeated header)', `Bearer ${token},Bearer ${token}`],
      ['the token with a character appended', `Bearer ${token}x`],
      ['the token with its signature cut', `Bearer ${token.slice(0, -2)}`],
      [
        'the token with its claims rewritten',
        `Bearer ${head}.${b64url({ ...claimsOf(token), email: 'attacker@example.com' })}.${signature}`,
      ],
      ['an unsigned token (alg none)', `Bearer ${unsigned}`],
      ['an HS256 token', `Bearer ${hs256}`],
      ['a token signed with a key Google does not publish', await t({}, { key: oidc.foreignKey })],
      ['a foreign key under an unknown kid', await t({}, { key: oidc.foreignKey, kid: 'other-key' })],
      ['another audience', await t({ aud: 'https://elsewhere.example/webhooks/google' })],
      ['another issuer', await t({ iss: 'https://accounts.example.com' })],
      ['an expired token', await t({ iat: now() - 7200, exp: now() - 3600 })],
      ['a token issued over an hour ago', await t({ iat: now() - 4000, exp: now() + 600 })],
      ['a token issued in the future', await t({ iat: now() + 3600, exp: now() + 7200 })],
      ['a token not valid before an hour from now', await t({ nbf: now() + 3600 })],
      ['without exp', await t({ exp: null })],
      ['without iat', await t({ iat: null })],
      ['without email', await t({ email: null })],
      ['another service account', await t({ email: 'someone@example-project.iam.gserviceaccount.com' })],
      ['email_verified false', await t({ email_verified: false })],
      ['email_verified "true"', await t({ email_verified: 'true' })],
      ['without email_verified', await t({ email_verified: null })],
    ];
  }

  it('refuses every bad token on every kind of body with a bare 401, queueing nothing', async () => {
    const ours = googleNotifications(OUR_PACKAGE);
    const bodies: Omit<StoreCase, 'expect'>[] = [
      {
        name: 'a push for us',
        contentType: 'application/json',
        body: JSON.stringify(pushOf(ours.subscription)),
      },
      {
        name: "another app's push",
        contentType: 'application/json',
        body: JSON.stringify(pushOf(googleNotifications(OTHER_PACKAGE).voided)),
      },
      {
        name: 'an undecodable push',
        contentType: 'application/json',
        body: '{"message":{"data":"!!!!","messageId":"m"}}',
      },
      { name: 'not JSON', contentType: 'text/plain', body: 'hello' },
      {
        name: 'bytes that are not UTF-8',
        contentType: 'application/octet-stream',
        body: Buffer.from([0xff, 0xfe, 0x00]),
      },
      { name: 'no body' },
    ];
    const auths = await badAuthorizations();
    const pairs = auths.flatMap((auth) => bodies.map((body) => [auth, body] as const));
    await inParallel(pairs, 8, async ([[label, authorization], body]) => {
      const res = await send(GOOGLE, body, authorization === undefined ? {} : { authorization });
      sent.cases++;
      expectUnauthorized(res, `${body.name} with ${label} → ${describeAnswer(res)}`);
    });
    // The token in the query string is not a token either.
    const inQuery = await sendRaw(api.url, {
      method: 'POST',
      path: `${GOOGLE}?token=${token}&access_token=${token}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(pushOf(ours.subscription)),
    });
    sent.cases++;
    expectUnauthorized(inQuery, `token in the query → ${describeAnswer(inQuery)}`);
    // Too large is answered before the token is looked at, whoever sends it.
    const huge = await send(GOOGLE, {
      contentType: 'application/json',
      body: Buffer.alloc(MAX_INGEST_BODY_BYTES + 1, 0x20),
    });
    sent.cases++;
    expect(huge.status).toBe(413);
    expect(huge.json).toEqual(TOO_LARGE);
    expect(await queued()).toBe(0);
  }, 20_000);

  it(`refuses ${FUZZ_RUNS} arbitrary bodies under arbitrary Authorization headers`, async () => {
    await fc.assert(
      fc.asyncProperty(
        googlePushArbitrary(),
        fc.oneof(
          fc.string({ unit: 'binary-ascii' }),
          fc.string().map((s) => `Bearer ${s}`),
          fc
            .tuple(fc.base64String(), fc.base64String(), fc.base64String())
            .map((parts) => `Bearer ${parts.map((p) => p.replace(/=+$/, '')).join('.')}`),
          fc.constant(null),
        ),
        async (value, authorization) => {
          const body = JSON.stringify(value) ?? '';
          const res = await send(
            GOOGLE,
            { contentType: 'application/json', body },
            // Header values cannot carry control or non-Latin-1 characters.
            authorization === null ? {} : { authorization: authorization.replace(/[^\x20-\x7e]/g, '') },
          );
          sent.fuzz++;
          expectUnauthorized(res, `${body.slice(0, 200)} / ${authorization} → ${describeAnswer(res)}`);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
    expect(await queued()).toBe(0);
  }, 20_000);
});

describe('POST /webhooks/google with a valid push token', () => {
  const auth = () => ({ authorization: `Bearer ${token}` });
  const corpus = googleCorpus();

  /** The messageId an undecodable push is labelled with: the body's own, if it names one. */
  function messageIdIn(raw: Buffer): string | undefined {
    try {
      const id = JSON.parse(raw.toString('utf8'))?.message?.messageId;
      return typeof id === 'string' && id !== '' ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** Exactly one message, labelled google.undecodable, carrying the request's bytes unchanged. */
  function expectDeadLetterBound(
    messages: Message[],
    sent: Buffer,
    contentType: string | undefined,
    where: string,
  ) {
    // What the function was handed: API Gateway passes JSON and text types as UTF-8 text.
    const raw = isTextMediaType(contentType) ? Buffer.from(sent.toString('utf8')) : sent;
    expect(messages, where).toHaveLength(1);
    const [message] = messages as [Message];
    const attributes = message.MessageAttributes ?? {};
    expect(attributes[EVENT_TYPE_ATTRIBUTE]?.StringValue, where).toBe(UNDECODABLE_EVENT_TYPE);
    const messageId = messageIdIn(raw);
    if (messageId === undefined) expect(attributes[EVENT_ID_ATTRIBUTE], where).toBeUndefined();
    else
      expect(attributes[EVENT_ID_ATTRIBUTE]?.StringValue, where).toBe(
        attributeText(`google_${messageId.slice(0, 128)}`),
      );
    const body = message.Body ?? '';
    const base64 = attributes[BODY_ENCODING_ATTRIBUTE]?.StringValue === 'base64';
    if (raw.length === 0) expect(body, where).toBe('(empty body)');
    else expect(base64 ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8'), where).toEqual(raw);
  }

  it('acknowledges each fixed case as documented: undecodable ones queued for the DLQ, other apps dropped', async () => {
    const counts: Record<string, number> = {};
    // One at a time: each answer is matched to what it left on the queue.
    for (const c of corpus) {
      const res = await send(GOOGLE, c, auth());
      sent.cases++;
      const messages = await drain(resources.queueUrl);
      const where = `${c.name} → ${describeAnswer(res)}, ${messages.length} queued`;
      counts[c.expect.kind] = (counts[c.expect.kind] ?? 0) + 1;
      switch (c.expect.kind) {
        case 'undecodable':
          expect(res.status, where).toBe(200);
          expect(res.json, where).toEqual({ received: true });
          expectDeadLetterBound(messages, Buffer.from(c.body ?? ''), c.contentType, where);
          break;
        case 'ignored':
          expect(res.status, where).toBe(200);
          expect(res.json, where).toEqual({ received: true });
          expect(messages, where).toEqual([]);
          break;
        default:
          expectTooLarge(c, res, where);
          expect(messages, where).toEqual([]);
      }
    }
    console.info(`google with a token: ${JSON.stringify(counts)}`);
    expect(await queued()).toBe(0);
  }, 20_000);

  it(`acknowledges ${FUZZ_RUNS} arbitrary pushes, queueing exactly the undecodable ones`, async () => {
    const counts = { undecodable: 0, ignored: 0 };
    await fc.assert(
      fc.asyncProperty(googlePushArbitrary(), async (value) => {
        const text = asciiJson(value);
        // The decoder says which of the two documented answers applies; the property is that the
        // endpoint, over HTTP and SQS, gives exactly that answer.
        let decodable = true;
        try {
          fc.pre(decodePubSubMessage(text).notification.packageName !== OUR_PACKAGE);
        } catch (error) {
          if (fc.PreconditionFailure.isFailure(error)) throw error;
          decodable = false;
        }
        const res = await send(GOOGLE, { contentType: 'application/json', body: text }, auth());
        sent.fuzz++;
        const messages = await drain(resources.queueUrl);
        const where = `${text.slice(0, 300)} → ${describeAnswer(res)}, ${messages.length} queued`;
        expect(res.status, where).toBe(200);
        expect(res.json, where).toEqual({ received: true });
        if (decodable) {
          expect(messages, where).toEqual([]);
          counts.ignored++;
        } else {
          expectDeadLetterBound(messages, Buffer.from(text), 'application/json', where);
          counts.undecodable++;
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
    console.info(
      `google: ${counts.ignored} arbitrary pushes ignored, ${counts.undecodable} dead-letter bound`,
    );
    expect(counts.ignored).toBeGreaterThan(FUZZ_RUNS / 10);
    expect(counts.undecodable).toBeGreaterThan(FUZZ_RUNS / 10);
    expect(await queued()).toBe(0);
  }, 25_000);

  it('queues a decodable push for us as its notification, whatever else is odd about it', async () => {
    const ours = googleNotifications(OUR_PACKAGE);
    const withoutSubscription = {
      ...pushOf(ours.subscription, 'm-no-subscription'),
      subscription: undefined,
    };
    // A prototype key inside the notification cannot lend it a subject.
    const smuggled = pushOf(ours.test, 'm-smuggled');
    smuggled.message.data = Buffer.from(
      `{"__proto__":{"subscriptionNotification":{"notificationType":4,"purchaseToken":"evil","subscriptionId":"x"}},${JSON.stringify(ours.test).slice(1)}`,
    ).toString('base64');
    for (const [push, subject] of [
      [withoutSubscription, { key: 'corpus-token-1', productId: 'premium_monthly', type: 'subscription' }],
      [smuggled, null],
    ] as const) {
      const res = await send(GOOGLE, { contentType: 'application/json', body: JSON.stringify(push) }, auth());
      expect(res.status).toBe(200);
      const messages = await drain(resources.queueUrl);
      expect(messages).toHaveLength(1);
      const envelope = JSON.parse(messages[0]?.Body ?? '');
      expect(envelope).toMatchObject({
        eventId: `google_${push.message.messageId}`,
        tenantId: 'direct',
        source: 'google',
        subject,
      });
      expect(messages[0]?.MessageAttributes?.[EVENT_TYPE_ATTRIBUTE]?.StringValue).not.toBe(
        UNDECODABLE_EVENT_TYPE,
      );
    }
  });
});

describe('afterwards', () => {
  it('queued nothing anywhere, and no function failed', async () => {
    console.info(`${sent.cases} fixed-case requests and ${sent.fuzz} arbitrary ones`);
    expect(sent.cases).toBeGreaterThan(300);
    expect(sent.fuzz).toBeGreaterThanOrEqual(3 * FUZZ_RUNS);
    expect(await queued()).toBe(0);
    expect(await depthOf(resources.dlqUrl)).toBe(0);
    expect(functionErrors).toEqual([]);
  });

  it('polluted no prototype', () => {
    expect(prototypeFingerprint()).toEqual(prototypesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).signedPayload).toBeUndefined();
  });

  it('still accepts and queues genuine notifications from both stores (the queue checks can see one)', async () => {
    const apple = await send(APPLE, {
      contentType: 'application/json',
      body: JSON.stringify({ signedPayload: appleSignedPayload() }),
    });
    expect(apple.status, describeAnswer(apple)).toBe(200);
    const google = await send(
      GOOGLE,
      {
        contentType: 'application/json',
        body: JSON.stringify(pushOf(googleNotifications(OUR_PACKAGE).oneTime)),
      },
      { authorization: `Bearer ${token}` },
    );
    expect(google.status, describeAnswer(google)).toBe(200);
    expect(await queued()).toBe(2);
    const events = (await drain(resources.queueUrl)).map((m) => JSON.parse(m.Body ?? '').source).sort();
    expect(events).toEqual(['apple', 'google']);
  });
});
