// Hostile and malformed requests for the two store endpoints (POST /webhooks/apple, POST
// /webhooks/google), with what each must get back, plus the webhook queue as the test reads it.
// The Apple cases are built on notifications signed by the test PKI (test/support/apple-test-pki.ts),
// so "almost genuine" is really almost genuine: one broken piece each.
import { randomUUID, sign } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { MAX_INGEST_BODY_BYTES } from '../../shared/ingest/http-edge';
import { APP_APPLE_ID, type AppleFixture, appleBody, BUNDLE_ID } from '../integration/notifications-test-kit';
import { type AppleTestSigner, appleTestPki } from './apple-test-pki';
import { ODD_TEXT, oddString } from './bad-input-corpus';
import { pubSubPushBody } from './google-test-oidc';

/**
 * Apple: `invalid` 400 INVALID_REQUEST naming signedPayload; `unauthorized` 401 with no detail.
 * Google (authentic push): `undecodable` 200 and the raw body queued as google.undecodable;
 * `ignored` 200 and nothing queued (decodable, but for another app).
 * Both: `tooLarge` our own 413; `gateway` API Gateway's 413 before any function runs.
 */
export type StoreExpectation =
  | { kind: 'invalid' }
  | { kind: 'unauthorized' }
  | { kind: 'undecodable' }
  | { kind: 'ignored' }
  | { kind: 'tooLarge' }
  | { kind: 'gateway' };

export interface StoreCase {
  name: string;
  /** Absent: no content-type header at all. */
  contentType?: string;
  body?: string | Buffer;
  expect: StoreExpectation;
}

export const OUR_PACKAGE = BUNDLE_ID;
export const OTHER_PACKAGE = 'com.other.app';
const JSON_TYPE = 'application/json';
const GATEWAY_LIMIT = 10 * 1024 * 1024;

const json = (value: unknown): string => JSON.stringify(value) ?? '';
const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const at =
  (expect: StoreExpectation) =>
  (name: string, body: string | Buffer, contentType = JSON_TYPE) => ({
    name,
    contentType,
    body,
    expect,
  });

/** `value` padded with a stray `pad` field to exactly `bytes` bytes of JSON. */
export function padJsonTo(value: Record<string, unknown>, bytes: number): string {
  const overhead = Buffer.byteLength(json({ ...value, pad: '' }));
  return json({ ...value, pad: 'x'.repeat(bytes - overhead) });
}

/** Bodies no JSON route can read, whatever it expects inside. */
function unreadableBodies(good: string): [string, string | Buffer, string | undefined][] {
  return [
    ['invalid JSON: truncated', good.slice(0, -3), JSON_TYPE],
    ['invalid JSON: single quotes', "{'signedPayload':'a.b.c'}", JSON_TYPE],
    ['invalid JSON: a trailing comma', `${good.slice(0, -1)},}`, JSON_TYPE],
    ['invalid JSON: two documents', `${good}${good}`, JSON_TYPE],
    ['invalid JSON: a leading byte-order mark', `\ufeff${good}`, JSON_TYPE],
    ['invalid JSON: a comment', `/* hi */${good}`, JSON_TYPE],
    ['invalid JSON: NaN', 'NaN', JSON_TYPE],
    ['invalid JSON: a raw NUL', '\u0000', JSON_TYPE],
    ['invalid JSON: the body base64-encoded', Buffer.from(good).toString('base64'), JSON_TYPE],
    ['invalid JSON: bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0xc3, 0x28]), JSON_TYPE],
    [
      'invalid JSON: bytes that are not UTF-8, base64-encoded by the gateway',
      Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0xc3, 0x28]),
      'application/octet-stream',
    ],
    ['invalid JSON: UTF-16 bytes', Buffer.from(good, 'utf16le'), 'application/json; charset=utf-16le'],
    ['invalid JSON: gzip the gateway does not inflate', gzipSync(good), JSON_TYPE],
    ['invalid JSON: arrays nested 100 000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, JSON_TYPE],
    ['not an object: an array', '[]', JSON_TYPE],
    ['not an object: an array of the body', `[${good}]`, JSON_TYPE],
    ['not an object: a string', json(good), JSON_TYPE],
    ['not an object: a number', '42', JSON_TYPE],
    ['not an object: null', 'null', JSON_TYPE],
    ['not an object: true', 'true', JSON_TYPE],
    ['empty body', '', JSON_TYPE],
    ['whitespace only', ' \r\n\t ', JSON_TYPE],
    ['a form post', 'signedPayload=a.b.c&message=x', 'application/x-www-form-urlencoded'],
    [
      'multipart',
      `--XyZ\r\nContent-Disposition: form-data; name="body"\r\n\r\n${good}\r\n--XyZ--\r\n`,
      'multipart/form-data; boundary=XyZ',
    ],
    ['xml', '<signedPayload>a.b.c</signedPayload>', 'application/xml'],
  ];
}

// ─── Apple ──────────────────────────────────────────────────────────────────────────────────

/** A compact JWS over exactly these header and payload bytes, signed by `signer`'s leaf. */
export function signRawJws(
  header: Record<string, unknown> | string,
  payload: string | Buffer,
  signer: AppleTestSigner = appleTestPki().signer,
): string {
  const head = b64url(typeof header === 'string' ? header : json(header));
  const input = `${head}.${b64url(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** A notification signed by the test PKI, as Apple POSTs it: its `signedPayload`. */
export function appleSignedPayload(fixture: Partial<AppleFixture> = {}): string {
  return JSON.parse(
    appleBody({
      type: 'DID_RENEW',
      signedDate: Date.now(),
      transaction: {
        originalTransactionId: '2000000000000001',
        transactionId: '2000000000000002',
        productId: 'premium_monthly',
        bundleId: BUNDLE_ID,
        type: 'Auto-Renewable Subscription',
      },
      ...fixture,
    }),
  ).signedPayload;
}

/** The decoded payload of a genuine notification, for re-signing with one thing changed. */
function genuineNotification(): Record<string, unknown> {
  const [, payload] = appleSignedPayload().split('.');
  return JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
}

/** Every case answers 400, 401 or 413: none may be queued. */
export function appleCorpus(): StoreCase[] {
  const pki = appleTestPki();
  const genuine = appleSignedPayload();
  const [head = '', payload = '', signature = ''] = genuine.split('.');
  const forged = `${head}.${payload}.${Buffer.alloc(64, 1).toString('base64url')}`;
  const forgedBody = json({ signedPayload: forged });
  const notification = genuineNotification();
  const header = { alg: 'ES256', x5c: pki.signer.x5c };
  const invalid = at({ kind: 'invalid' });
  const refused = at({ kind: 'unauthorized' });
  const withPayload = (name: string, value: unknown) => invalid(name, json({ signedPayload: value }));
  const jws = (name: string, value: string) => refused(name, json({ signedPayload: value }));
  const resigned = (name: string, changes: Record<string, unknown>, signer = pki.signer) =>
    jws(name, signRawJws({ alg: 'ES256', x5c: signer.x5c }, json({ ...notification, ...changes }), signer));

  const cases: StoreCase[] = [];
  // signedPayload absent, empty or not a string, including genuine ones in the wrong place.
  for (const [label, value] of [
    ['a number', 42],
    ['a boolean', true],
    ['null', null],
    ['empty', ''],
    ['an array holding a genuine one', [genuine]],
    ['an object holding a genuine one', { signedPayload: genuine }],
    ['split into its three segments', genuine.split('.')],
  ] as const)
    cases.push(withPayload(`signedPayload as ${label}`, value));
  for (const [label, body] of [
    ['missing', '{}'],
    ['under another case', json({ SignedPayload: genuine })],
    ['in snake case', json({ signed_payload: genuine })],
    ['with a leading space in the key', json({ ' signedPayload': genuine })],
    ['one level down', json({ data: { signedPayload: genuine } })],
    ['behind __proto__', `{"__proto__":{"signedPayload":${json(genuine)}}}`],
    ['behind constructor.prototype', `{"constructor":{"prototype":{"signedPayload":${json(genuine)}}}}`],
  ] as const)
    cases.push(invalid(`a genuine signedPayload ${label}`, body));
  // Framing: not JSON, not an object, empty, or a type the gateway base64-encodes that is not JSON.
  for (const [name, body, type] of unreadableBodies(forgedBody))
    cases.push({ name, body, expect: { kind: 'invalid' }, ...(type ? { contentType: type } : {}) });
  cases.push({ name: 'no body and no content-type', expect: { kind: 'invalid' } });

  // Strings that are not a compact JWS at all.
  for (const [label, value] of [
    ['a word', 'hello'],
    ['two segments', `${head}.${payload}`],
    ['four segments', `${genuine}.${signature}`],
    ['a trailing dot', `${genuine}.`],
    ['dots only', '..'],
    ['three empty segments with spaces', ' . . '],
    ['a single space', ' '],
    ['a 100 000-character word', 'x'.repeat(100_000)],
    ...Object.entries(ODD_TEXT.wellFormed).map(([k, v]) => [`odd text (${k})`, v]),
    ...Object.entries(ODD_TEXT.illFormed).map(([k, v]) => [`odd text (${k})`, v]),
  ] as const)
    cases.push(jws(`signedPayload is not a JWS: ${label}`, value));

  // Three segments with garbage in one or more of them.
  const garbage: [string, string][] = [
    ['a.b.c', 'a.b.c'],
    ['punctuation segments', '!!!.@@@.###'],
    ['a genuine signature replaced', forged],
    ['an empty signature', `${head}.${payload}.`],
    [
      'a DER-encoded signature',
      `${head}.${payload}.${b64url(Buffer.concat([Buffer.from([0x30, 0x44]), Buffer.alloc(68, 2)]))}`,
    ],
    ['the signature of another notification', `${head}.${payload}.${appleSignedPayload().split('.')[2]}`],
    ['the header not base64url', `%%%.${payload}.${signature}`],
    ['the header base64 of non-JSON', `${b64url('not json')}.${payload}.${signature}`],
    ['the header an empty object', `${b64url('{}')}.${payload}.${signature}`],
    ['the header a JSON array', `${b64url('[1,2,3]')}.${payload}.${signature}`],
    ['alg none, no signature', `${b64url(json({ alg: 'none', x5c: pki.signer.x5c }))}.${payload}.`],
    ['alg HS256', `${b64url(json({ alg: 'HS256', x5c: pki.signer.x5c }))}.${payload}.${signature}`],
    ['x5c a string', `${b64url(json({ alg: 'ES256', x5c: pki.signer.x5c[0] }))}.${payload}.${signature}`],
    ['x5c empty', `${b64url(json({ alg: 'ES256', x5c: [] }))}.${payload}.${signature}`],
    ['x5c of numbers', `${b64url(json({ alg: 'ES256', x5c: [1, 2, 3] }))}.${payload}.${signature}`],
    [
      'x5c of garbage certificates',
      `${b64url(json({ alg: 'ES256', x5c: ['AAAA', 'b', '!!'] }))}.${payload}.${signature}`,
    ],
    [
      'x5c the root three times',
      `${b64url(json({ alg: 'ES256', x5c: [pki.signer.x5c[2], pki.signer.x5c[2], pki.signer.x5c[2]] }))}.${payload}.${signature}`,
    ],
    [
      'x5c with a fourth certificate',
      `${b64url(json({ alg: 'ES256', x5c: [...pki.signer.x5c, pki.signer.x5c[2]] }))}.${payload}.${signature}`,
    ],
    [
      'x5c of the impostor chain over a genuine signature',
      `${b64url(json({ alg: 'ES256', x5c: pki.foreignSigner.x5c }))}.${payload}.${signature}`,
    ],
    ['the payload not base64url', `${head}.%%%.${signature}`],
    [
      'the payload tampered with',
      `${head}.${b64url(json({ ...notification, notificationType: 'REFUND' }))}.${signature}`,
    ],
    [
      'a huge header (200 KB of padding)',
      `${b64url(json({ ...header, pad: 'x'.repeat(150_000) }))}.${payload}.${signature}`,
    ],
    [
      'a huge header, signed by the impostor',
      signRawJws(
        { alg: 'ES256', x5c: pki.foreignSigner.x5c, pad: 'x'.repeat(150_000) },
        json(notification),
        pki.foreignSigner,
      ),
    ],
    ['odd unicode in the header segment', `${head}\ud800.${payload}.${signature}`],
    ['odd unicode in the payload segment', `${head}.${payload}\u202e\u0000.${signature}`],
    ['odd unicode in the signature segment', `${head}.${payload}.${signature}😀`],
    [
      '__proto__ in the header',
      signRawJws(`{"__proto__":{"alg":"ES256","x5c":${json(pki.signer.x5c)}}}`, json(notification)),
    ],
  ];
  for (const [label, value] of garbage) cases.push(jws(`garbage JWS: ${label}`, value));

  // Signed by the test PKI's leaf (or a broken chain), but not a notification we may accept.
  for (const [label, bytes] of [
    ['non-JSON', 'not json'],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['a JSON string', '"DID_RENEW"'],
    ['an empty object', '{}'],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0xfd])],
    ['its fields behind __proto__', `{"__proto__":${json(notification)}}`],
    ['its fields behind constructor.prototype', `{"constructor":{"prototype":${json(notification)}}}`],
  ] as const)
    cases.push(jws(`signed, but the payload is ${label}`, signRawJws(header, bytes)));
  for (const [label, changes] of [
    ['without notificationUUID', { notificationUUID: undefined }],
    ['with an empty notificationUUID', { notificationUUID: '' }],
    ['with notificationType a number', { notificationType: 7 }],
    ['with signedDate a string', { signedDate: String(Date.now()) }],
    ['for another bundle', { data: { ...(notification.data as object), bundleId: 'com.other.app' } }],
    [
      'for Production with another app id',
      { data: { ...(notification.data as object), environment: 'Production', appAppleId: APP_APPLE_ID + 1 } },
    ],
    ['for Xcode', { data: { ...(notification.data as object), environment: 'Xcode' } }],
    ['for LocalTesting', { data: { ...(notification.data as object), environment: 'LocalTesting' } }],
    [
      'with signedTransactionInfo garbage',
      { data: { ...(notification.data as object), signedTransactionInfo: 'a.b.c' } },
    ],
    [
      'with signedTransactionInfo a number',
      { data: { ...(notification.data as object), signedTransactionInfo: 42 } },
    ],
    [
      'with signedTransactionInfo an object',
      { data: { ...(notification.data as object), signedTransactionInfo: { a: 1 } } },
    ],
    [
      'with signedRenewalInfo not a JWS',
      { data: { ...(notification.data as object), signedRenewalInfo: 'renewal' } },
    ],
    ['with data a string', { data: 'data' }],
  ] as const)
    cases.push(resigned(`signed, but ${label}`, changes));
  for (const [label, signer] of [
    ['the impostor chain', pki.foreignSigner],
    ['an expired leaf', pki.expiredSigner],
    ['a leaf without Apple’s OID', pki.leafWithoutOidSigner],
    ['an intermediate without Apple’s OID', pki.intermediateWithoutOidSigner],
  ] as const)
    cases.push(resigned(`signed with ${label}`, {}, signer));
  cases.push(
    jws(
      'a genuine notification whose signedTransactionInfo the impostor signed',
      appleSignedPayload({ innerSigner: pki.foreignSigner }),
    ),
    jws('a genuine notification for another bundle', appleSignedPayload({ bundleId: 'com.other.app' })),
  );

  // Odd keys and content types around a forged payload: read as JSON whatever the type, refused.
  cases.push(
    refused(
      '__proto__ next to a forged payload',
      `{"__proto__":{"polluted":"yes","isAdmin":true},${forgedBody.slice(1)}`,
    ),
    refused(
      'constructor.prototype next to a forged payload',
      `{"constructor":{"prototype":{"polluted":"yes"}},${forgedBody.slice(1)}`,
    ),
    refused(
      'an unknown field nested 40 000 deep',
      `${forgedBody.slice(0, -1)},"deep":${'{"a":'.repeat(40_000)}1${'}'.repeat(40_000)}}`,
    ),
    refused('a 100 000-character unknown key', `${forgedBody.slice(0, -1)},"${'k'.repeat(100_000)}":1}`),
    refused(
      'odd unicode keys',
      json({ [ODD_TEXT.wellFormed.rtlOverride]: 1, [ODD_TEXT.illFormed.loneHigh]: 2, signedPayload: forged }),
    ),
  );
  for (const type of [
    'text/plain;charset=UTF-8',
    'application/octet-stream',
    'application/x-www-form-urlencoded',
    'application/xml',
    'application/vnd.api+json',
    'APPLICATION/JSON; charset=UTF-8',
    'text/json',
  ])
    cases.push(refused(`content-type ${type}, forged payload`, forgedBody, type));
  cases.push({ name: 'no content-type, forged payload', body: forgedBody, expect: { kind: 'unauthorized' } });

  // Sizes: ours (256 KiB), then API Gateway's (10 MB).
  cases.push(
    refused(
      'a forged payload at exactly our limit',
      padJsonTo({ signedPayload: forged }, MAX_INGEST_BODY_BYTES),
    ),
    {
      name: 'a genuine payload one byte over our limit',
      contentType: JSON_TYPE,
      body: padJsonTo({ signedPayload: genuine }, MAX_INGEST_BODY_BYTES + 1),
      expect: { kind: 'tooLarge' },
    },
    {
      name: 'a genuine payload, base64 body one byte over our limit',
      contentType: 'application/octet-stream',
      body: padJsonTo({ signedPayload: genuine }, MAX_INGEST_BODY_BYTES + 1),
      expect: { kind: 'tooLarge' },
    },
    {
      name: "over API Gateway's 10 MB",
      contentType: JSON_TYPE,
      body: padJsonTo({ signedPayload: genuine }, GATEWAY_LIMIT + 1),
      expect: { kind: 'gateway' },
    },
  );
  return cases;
}

/** Arbitrary bodies around `signedPayload`: genuine ones cut short, JWS look-alikes, any JSON. */
export function appleBodyArbitrary(genuine: string): fc.Arbitrary<unknown> {
  const anyJson = fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' });
  const segment = fc.oneof(
    fc.base64String().map((s) => s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')),
    fc.jsonValue({ maxDepth: 2 }).map((v) => b64url(json(v))),
    oddString,
  );
  // One character removed: whichever it is, the signature no longer matches what is signed.
  const cutShort = fc.nat({ max: genuine.length - 1 }).map((i) => genuine.slice(0, i) + genuine.slice(i + 1));
  const signedPayload = fc.oneof(
    { weight: 2, arbitrary: cutShort },
    { weight: 2, arbitrary: fc.tuple(segment, segment, segment).map((s) => s.join('.')) },
    { weight: 1, arbitrary: oddString },
    { weight: 1, arbitrary: anyJson },
  );
  const keyName = fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'SignedPayload'),
    oddString,
  );
  const shaped = fc
    .tuple(
      fc.record({ signedPayload }, { requiredKeys: [] }),
      fc.dictionary(keyName, anyJson, { maxKeys: 3 }),
    )
    .map(([body, strays]) => Object.assign(Object.create(null), strays, body));
  return fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: anyJson });
}

// ─── Google ─────────────────────────────────────────────────────────────────────────────────

type Notification = Record<string, unknown>;

/** One DeveloperNotification of each kind, for `packageName`. */
export function googleNotifications(
  packageName: string,
): Record<'subscription' | 'oneTime' | 'voided' | 'test', Notification> {
  const base = { version: '1.0', packageName, eventTimeMillis: '1763719200000' };
  return {
    subscription: {
      ...base,
      subscriptionNotification: {
        version: '1.0',
        notificationType: 4,
        purchaseToken: 'corpus-token-1',
        subscriptionId: 'premium_monthly',
      },
    },
    oneTime: {
      ...base,
      oneTimeProductNotification: {
        version: '1.0',
        notificationType: 1,
        purchaseToken: 'corpus-token-2',
        sku: 'coins_100',
      },
    },
    voided: {
      ...base,
      voidedPurchaseNotification: { purchaseToken: 'corpus-token-3', orderId: 'GPA.1', productType: 1 },
    },
    test: { ...base, testNotification: { version: '1.0' } },
  };
}

/**
 * JSON with every non-ASCII character escaped: the same value once parsed, in ASCII bytes. For
 * bodies that end up on the queue as they are: fauxqs 1.9.2 refuses characters above U+FFFF in a
 * message body, which SQS accepts (#x10000-#x10FFFF), so raw astral characters would fail there only.
 */
export const asciiJson = (value: unknown): string =>
  (JSON.stringify(value) ?? '').replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

export const pushOf = (notification: unknown, messageId = `m-${randomUUID()}`) =>
  pubSubPushBody(notification, { messageId });
const dataOf = (value: string | Buffer) => Buffer.from(value).toString('base64');

/**
 * Pushes an authenticated caller may send: ones we cannot decode (answered 200, queued for the
 * dead-letter queue) and decodable ones for another app (answered 200, ignored).
 */
export function googleCorpus(): StoreCase[] {
  const others = googleNotifications(OTHER_PACKAGE);
  const ours = googleNotifications(OUR_PACKAGE);
  const good = pushOf(ours.subscription);
  const goodText = json(good);
  const undecodable = at({ kind: 'undecodable' });
  const ignored = at({ kind: 'ignored' });
  const withMessage = (changes: Record<string, unknown>) =>
    json({ ...good, message: { ...good.message, ...changes } });
  const withData = (value: string | Buffer) => withMessage({ data: dataOf(value) });
  const cases: StoreCase[] = [];

  for (const [name, body, type] of unreadableBodies(goodText))
    cases.push({ name, body, expect: { kind: 'undecodable' }, ...(type ? { contentType: type } : {}) });
  cases.push({ name: 'no body and no content-type', expect: { kind: 'undecodable' } });

  // The push envelope.
  for (const [label, body] of [
    ['an empty object', '{}'],
    ['message missing', json({ subscription: good.subscription })],
    ...(
      [
        ['null', null],
        ['a string', 'message'],
        ['an array', [good.message]],
      ] as const
    ).map(([l, v]) => [`message ${l}`, json({ ...good, message: v })]),
    ['data missing', withMessage({ data: undefined })],
    ['data empty', withMessage({ data: '' })],
    ['data a number', withMessage({ data: 42 })],
    ['data null', withMessage({ data: null })],
    ['data an array', withMessage({ data: [good.message.data] })],
    ['data an object', withMessage({ data: ours.subscription })],
    ['messageId missing', withMessage({ messageId: undefined })],
    ['messageId missing, message_id present', withMessage({ messageId: undefined, message_id: 'm-snake' })],
    ['messageId empty', withMessage({ messageId: '' })],
    ['messageId a number', withMessage({ messageId: 2070443601311540 })],
    ['messageId null', withMessage({ messageId: null })],
    ['messageId an object', withMessage({ messageId: { id: 'm-1' } })],
    ['publishTime a number', withMessage({ publishTime: 1763719200 })],
    ['publishTime empty', withMessage({ publishTime: '' })],
    ['publishTime null', withMessage({ publishTime: null })],
    ['attributes with a number', withMessage({ attributes: { a: 1 } })],
    ['attributes a string', withMessage({ attributes: 'a=b' })],
    ['subscription a number', json({ ...good, subscription: 42 })],
    ['subscription null', json({ ...good, subscription: null })],
    [
      'a 10 000-character messageId and no data',
      withMessage({ data: undefined, messageId: 'm'.repeat(10_000) }),
    ],
    [
      'an odd-unicode messageId and no data',
      withMessage({ data: undefined, messageId: `${ODD_TEXT.illFormed.loneHigh}${ODD_TEXT.illFormed.nul}` }),
    ],
    ['the push behind __proto__', `{"__proto__":${goodText}}`],
    ['the push behind constructor.prototype', `{"constructor":{"prototype":${goodText}}}`],
    [
      'message fields behind __proto__',
      json({ ...good, message: undefined }).replace(/^\{/, `{"message":{"__proto__":${json(good.message)}},`),
    ],
  ] as const)
    cases.push(undecodable(`envelope: ${label}`, body));

  // message.data: not base64, or base64 of something that is not a DeveloperNotification.
  for (const [label, data] of [
    ['punctuation', '!!!!'],
    ['a length that is not a multiple of 4', 'abc'],
    ['base64url characters', `${dataOf(json(ours.subscription)).slice(0, 8)}-_-_`],
    ['padding in the middle', 'ab=cdefg'],
    ['three padding characters', 'abcde==='],
    ['odd unicode', `${dataOf(json(ours.subscription))}${ODD_TEXT.wellFormed.zeroWidth}`],
    ['a lone surrogate', `${dataOf(json(ours.subscription))}${ODD_TEXT.illFormed.loneHigh}`],
  ] as const)
    cases.push(undecodable(`message.data is not base64: ${label}`, withMessage({ data })));
  for (const [label, value] of [
    ['non-JSON text', 'hello'],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0xfd, 0x7b])],
    ['UTF-16 JSON', Buffer.from(json(ours.subscription), 'utf16le')],
    ['JSON null', 'null'],
    ['a JSON array', json([ours.subscription])],
    ['a JSON string', json(json(ours.subscription))],
    ['a JSON number', '42'],
    ['an empty object', '{}'],
    ['the notification twice', `${json(ours.subscription)}${json(ours.subscription)}`],
  ] as const)
    cases.push(undecodable(`message.data decodes to ${label}`, withData(value)));
  const sub = ours.subscription.subscriptionNotification as Record<string, unknown>;
  for (const [label, notification] of [
    ['without version', { ...ours.subscription, version: undefined }],
    ['without packageName', { ...ours.subscription, packageName: undefined }],
    ['without eventTimeMillis', { ...ours.subscription, eventTimeMillis: undefined }],
    ['with version a number', { ...ours.subscription, version: 1 }],
    ['with packageName empty', { ...ours.subscription, packageName: '' }],
    ['with packageName a number', { ...ours.subscription, packageName: 42 }],
    ['with packageName an array', { ...ours.subscription, packageName: [OUR_PACKAGE] }],
    ['with eventTimeMillis a number', { ...ours.subscription, eventTimeMillis: 1763719200000 }],
    ['with eventTimeMillis not digits', { ...ours.subscription, eventTimeMillis: '2026-11-21' }],
    [
      'with notificationType a string',
      { ...ours.subscription, subscriptionNotification: { ...sub, notificationType: '4' } },
    ],
    [
      'with notificationType a fraction',
      { ...ours.subscription, subscriptionNotification: { ...sub, notificationType: 4.5 } },
    ],
    [
      'with an empty purchaseToken',
      { ...ours.subscription, subscriptionNotification: { ...sub, purchaseToken: '' } },
    ],
    [
      'without subscriptionId',
      { ...ours.subscription, subscriptionNotification: { ...sub, subscriptionId: undefined } },
    ],
    ['with subscriptionNotification a string', { ...ours.subscription, subscriptionNotification: 'renewed' }],
    [
      'with a one-time notification naming no product',
      { ...ours.oneTime, oneTimeProductNotification: { notificationType: 1, purchaseToken: 't' } },
    ],
    [
      'with a voided notification whose productType is a string',
      { ...ours.voided, voidedPurchaseNotification: { purchaseToken: 't', productType: '1' } },
    ],
    ['with testNotification a string', { ...ours.test, testNotification: 'test' }],
  ] as const)
    cases.push(undecodable(`message.data is a notification ${label}`, withData(json(notification))));
  cases.push(
    undecodable(
      'message.data has its fields behind __proto__',
      withData(`{"__proto__":${json(ours.subscription)}}`),
    ),
    undecodable(
      'message.data has its fields behind constructor.prototype',
      withData(`{"constructor":{"prototype":${json(ours.subscription)}}}`),
    ),
  );

  // Decodable, but for another app: acknowledged, never queued, whatever else is odd about it.
  for (const [label, notification] of Object.entries(others))
    cases.push(ignored(`another app's ${label} notification`, json(pushOf(notification))));
  for (const [label, packageName] of [
    ['our package in capitals', OUR_PACKAGE.toUpperCase()],
    ['our package with a leading space', ` ${OUR_PACKAGE}`],
    ['our package with a trailing NUL', `${OUR_PACKAGE}\u0000`],
    ['our package with a zero-width space', `${OUR_PACKAGE}\u200b`],
    ['our package with a Cyrillic e', OUR_PACKAGE.replace('e', '\u0435')],
    ['our package behind an RTL override', `\u202e${OUR_PACKAGE}`],
    ['a lone surrogate', ODD_TEXT.illFormed.loneHigh],
    ['__proto__', '__proto__'],
  ] as const)
    cases.push(ignored(`a notification for ${label}`, json(pushOf({ ...ours.subscription, packageName }))));
  cases.push(
    ignored(
      "another app's notification claiming ours behind __proto__",
      json(pushOf(others.subscription)).replace(
        dataOf(json(others.subscription)),
        dataOf(`{"__proto__":{"packageName":"${OUR_PACKAGE}"},${json(others.subscription).slice(1)}`),
      ),
    ),
    ignored(
      "another app's notification with base64 broken by whitespace",
      json(pushOf(others.subscription)).replace(/"data":"(.{8})/, '"data":"$1\\n \\t'),
    ),
    ignored(
      "another app's notification without subscription",
      json({ ...pushOf(others.oneTime), subscription: undefined }),
    ),
    ignored(
      "another app's notification with stray and prototype keys",
      `{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},${json(pushOf(others.voided)).slice(1)}`,
    ),
    ignored(
      "another app's notification with an unknown field nested 40 000 deep",
      `${json(pushOf(others.test)).slice(0, -1)},"deep":${'{"a":'.repeat(40_000)}1${'}'.repeat(40_000)}}`,
    ),
  );
  // The handler reads the bytes whatever the content type says (the gateway base64-encodes some).
  for (const type of [
    'text/plain',
    'application/octet-stream',
    'application/x-www-form-urlencoded',
    'application/xml',
  ])
    cases.push(
      ignored(`content-type ${type}, another app's notification`, json(pushOf(others.subscription)), type),
    );
  cases.push({
    name: "no content-type, another app's notification",
    body: json(pushOf(others.subscription)),
    expect: { kind: 'ignored' },
  });

  // Sizes.
  cases.push(
    ignored(
      "another app's notification at exactly our limit",
      padJsonTo(pushOf(others.subscription), MAX_INGEST_BODY_BYTES),
    ),
    {
      name: 'one of ours one byte over our limit',
      contentType: JSON_TYPE,
      body: padJsonTo(good, MAX_INGEST_BODY_BYTES + 1),
      expect: { kind: 'tooLarge' },
    },
    {
      name: "over API Gateway's 10 MB",
      contentType: JSON_TYPE,
      body: padJsonTo(good, GATEWAY_LIMIT + 1),
      expect: { kind: 'gateway' },
    },
  );
  return cases;
}

/** Push bodies with arbitrary pieces: none is for our app, many cannot be decoded at all. */
export function googlePushArbitrary(): fc.Arbitrary<unknown> {
  const anyJson = fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' });
  const odd = <T>(valid: fc.Arbitrary<T>) =>
    fc.oneof(
      { weight: 12, arbitrary: valid },
      { weight: 1, arbitrary: oddString },
      { weight: 1, arbitrary: anyJson },
    );
  const packageName = odd(fc.constantFrom(OTHER_PACKAGE, 'com.example.other', 'com.example.app.debug'));
  const notification = fc
    .tuple(
      fc.record(
        { version: odd(fc.constant('1.0')), packageName, eventTimeMillis: odd(fc.nat().map(String)) },
        { requiredKeys: [] },
      ),
      fc.constantFrom(...Object.entries(googleNotifications(OTHER_PACKAGE))),
      fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor'), oddString), anyJson, {
        maxKeys: 2,
      }),
    )
    .map(([fields, [, whole], strays]) => Object.assign(Object.create(null), strays, whole, fields));
  const data = fc.oneof(
    { weight: 9, arbitrary: notification.map((n) => dataOf(json(n))) },
    { weight: 1, arbitrary: anyJson.map((v) => dataOf(json(v))) },
    { weight: 1, arbitrary: oddString },
    { weight: 1, arbitrary: anyJson },
  );
  const message = fc.record(
    {
      data,
      messageId: odd(fc.string({ minLength: 1, maxLength: 20 })),
      publishTime: odd(fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
      attributes: odd(fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })),
    },
    { requiredKeys: ['data', 'messageId'] },
  );
  const push = fc
    .tuple(
      fc.record(
        { message: odd(message), subscription: odd(fc.constant('projects/p/subscriptions/s')) },
        { requiredKeys: [] },
      ),
      fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype'), oddString), anyJson, {
        maxKeys: 2,
      }),
    )
    .map(([body, strays]) => Object.assign(Object.create(null), strays, body));
  return fc.oneof({ weight: 5, arbitrary: push }, { weight: 1, arbitrary: anyJson });
}

// ─── The webhook queue ──────────────────────────────────────────────────────────────────────

const sqs = () => new SQSClient({ useQueueUrlAsEndpoint: false });

/** Messages on a queue, visible or in flight. */
export async function depthOf(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs().send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Receives and deletes everything on the queue, with its attributes. */
export async function drain(queueUrl: string): Promise<Message[]> {
  const client = sqs();
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 30,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return all;
    for (const m of Messages)
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    all.push(...Messages);
  }
}
