// Hostile and malformed requests for every HTTP route, sent as raw bytes (any method, any
// headers or none, any body) to the local API emulator, plus what must hold afterwards: the
// store and the webhook queue untouched, and no prototype polluted.
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import type { LocalResources } from '../../dev/local/provision';
import { DEFAULT_MAX_BODY_BYTES } from '../../shared/http/api-handler';
import { documentClient } from '../../shared/store/dynamo-client';

export interface RawRequest {
  method: string;
  path: string;
  /** Sent as given: no content-type unless named here. */
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface RawAnswer {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
  json: any;
}

/** One HTTP exchange over loopback with nothing added: no default content-type, no encoding. */
export function sendRaw(baseUrl: string, req: RawRequest): Promise<RawAnswer> {
  const url = new URL(req.path, baseUrl);
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: req.method,
        headers: { ...req.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
        res.on('error', reject);
      },
    );
    // The emulator answers 413 and closes while a large body is still being written.
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    outgoing.end(body);
  });
}

/** Runs `fn` over `items`, at most `concurrency` at a time, in order of start. */
export async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

// ─── What must not change ───────────────────────────────────────────────────────────────────

/** Every item of the three tables (sorted, serialised) and the webhook queue's depth. */
export async function storeSnapshot(resources: LocalResources): Promise<Record<string, string[]>> {
  const snapshot: Record<string, string[]> = {};
  for (const [envVar, table] of Object.entries(resources.tableNames)) {
    // The per-user Attesto call counters count every well-formed request that reached Attesto:
    // bookkeeping of the rate limit, not purchase or user state.
    if (envVar === 'RATE_LIMITS_TABLE') continue;
    const items: string[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await documentClient().send(
        new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey }),
      );
      for (const item of page.Items ?? []) items.push(JSON.stringify(item, Object.keys(item).sort()));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    snapshot[envVar] = items.sort();
  }
  snapshot.queue = [String(await queueDepth(resources))];
  return snapshot;
}

/** Messages on the webhook queue, visible or in flight. */
export async function queueDepth(resources: LocalResources): Promise<number> {
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: resources.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Own property names of the built-in prototypes a polluting parser would write to. */
export function prototypeFingerprint(): Record<string, string[]> {
  const names = (o: object) => Reflect.ownKeys(o).map(String).sort();
  return {
    object: names(Object.prototype),
    array: names(Array.prototype),
    function: names(Function.prototype),
    string: names(String.prototype),
  };
}

// ─── The corpus ─────────────────────────────────────────────────────────────────────────────

export type BodyEndpoint = 'apple' | 'google' | 'restore';

export const BODY_PATHS: Record<BodyEndpoint, string> = {
  apple: '/api/iap/verify/apple',
  google: '/api/iap/verify/google',
  restore: '/api/iap/restore',
};

/** Well-formed requests that name no purchase Attesto knows: a domain "no", never a write. */
export const WELL_FORMED: Record<BodyEndpoint, Record<string, unknown>> = {
  apple: { productId: 'premium_monthly', transactionId: '1000000000000001', type: 'subscription' },
  google: { productId: 'premium_monthly', purchaseToken: 'corpus-token-1', type: 'subscription' },
  restore: {
    transactions: [{ platform: 'apple', productId: 'premium_monthly', transactionId: '1000000000000001' }],
  },
};

/**
 * `reject`: this status and error code, and the message or issues name every one of `names`.
 * `domain`: the request is well formed, so 200 with the SDK's domain answer (valid:false for a
 * verify of an unknown purchase, valid:true with the user's entitlements for a restore).
 * `gateway`: API Gateway's own answer (`{message}`) before any function runs.
 */
export type Expectation =
  | { kind: 'reject'; status: number; code: string; names: string[] }
  | { kind: 'domain' }
  | { kind: 'gateway'; status: number };

export interface CorpusCase {
  name: string;
  /** Absent: no content-type header at all. */
  contentType?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  expect: Expectation;
}

const JSON_TYPE = 'application/json';
const reject = (status: number, code: string, ...names: string[]): Expectation => ({
  kind: 'reject',
  status,
  code,
  names,
});
const invalid = (...names: string[]) => reject(400, 'INVALID_REQUEST', ...names);
const DOMAIN: Expectation = { kind: 'domain' };

/** Strings a careless parser, database or log line chokes on. */
export const ODD_TEXT = {
  wellFormed: {
    rtlOverride: 'abc\u202edcba',
    rtlMark: '\u200fabc\u200f',
    zeroWidth: 'a\u200b\u200c\u200db',
    bom: '\ufeffabc',
    emoji: '😀👩‍👩‍👧‍👦🏳️‍🌈',
    combining: `a${'\u0301'.repeat(50)}`,
    astral: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    nonCharacter: 'a\uffffb\ufffe',
    lineSeparator: 'a\u2028b\u2029c',
    quotes: `"'\`\\</script>{{x}}\${x}%s%n`,
    sqlish: "1' OR '1'='1",
    protoName: '__proto__',
  },
  illFormed: {
    loneHigh: 'abc\ud800',
    loneLow: '\udfffabc',
    swappedPair: '\ude00\ud83d',
    nul: 'a\u0000b',
    escape: 'a\u001b[31mred',
    newline: 'a\nb',
    c1: 'a\u0085b',
  },
} as const;

interface FieldSpec {
  /** Where the field sits (a restore entry's fields sit inside transactions[0]). */
  kind: 'id' | 'enum';
  maxLength?: number;
}

/** The body fields of each route and what they take (shared/purchases/request-schemas.ts). */
const FIELDS: Record<'apple' | 'google', Record<string, FieldSpec>> = {
  apple: {
    productId: { kind: 'id', maxLength: 200 },
    transactionId: { kind: 'id', maxLength: 128 },
    token: { kind: 'id', maxLength: 128 },
    type: { kind: 'enum' },
    productType: { kind: 'enum' },
    platform: { kind: 'enum' },
  },
  google: {
    productId: { kind: 'id', maxLength: 200 },
    purchaseToken: { kind: 'id', maxLength: 2000 },
    token: { kind: 'id', maxLength: 2000 },
    packageName: { kind: 'id', maxLength: 200 },
    type: { kind: 'enum' },
    productType: { kind: 'enum' },
    platform: { kind: 'enum' },
  },
};

const json = (value: unknown) => JSON.stringify(value);
const withField = (endpoint: 'apple' | 'google', field: string, value: unknown) =>
  json({ ...WELL_FORMED[endpoint], [field]: value });

/** Cases every JSON route shares: framing, content types, sizes, non-objects. */
function framingCases(endpoint: BodyEndpoint): CorpusCase[] {
  const good = json(WELL_FORMED[endpoint]);
  const padTo = (bytes: number) => {
    const base = { ...WELL_FORMED[endpoint], pad: '' };
    const overhead = Buffer.byteLength(json(base));
    return json({ ...base, pad: 'x'.repeat(bytes - overhead) });
  };
  const cases: CorpusCase[] = [
    // Not JSON at all.
    ...[
      ['truncated', good.slice(0, -3)],
      ['an unterminated string', '{"productId":"premium'],
      ['single quotes', "{'productId':'premium_monthly'}"],
      ['a trailing comma', `${good.slice(0, -1)},}`],
      ['two documents', `${good}${good}`],
      ['a leading byte-order mark', `\ufeff${good}`],
      ['NaN', 'NaN'],
      ['undefined', 'undefined'],
      ['a comment', `/* hi */${good}`],
      ['a raw NUL', '\u0000'],
      ['the body base64-encoded', Buffer.from(good).toString('base64')],
    ].map(([name, body]) => ({
      name: `invalid JSON: ${name}`,
      contentType: JSON_TYPE,
      body,
      expect: invalid('(body)'),
    })),
    {
      name: 'invalid JSON: bytes that are not UTF-8',
      contentType: JSON_TYPE,
      body: Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0xc3, 0x28]),
      expect: invalid('(body)'),
    },
    {
      name: 'invalid JSON: gzip without the gateway inflating it',
      contentType: JSON_TYPE,
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(good),
      expect: invalid('(body)'),
    },
    // JSON that is not an object.
    ...[
      ['an array', '[]'],
      ['an array of the body', `[${good}]`],
      ['a string', '"premium_monthly"'],
      ['a number', '42'],
      ['null', 'null'],
      ['true', 'true'],
    ].map(([name, body]) => ({
      name: `not an object: ${name}`,
      contentType: JSON_TYPE,
      body,
      expect: invalid('(body)'),
    })),
    { name: 'empty body', contentType: JSON_TYPE, body: '', expect: invalid('(body)') },
    { name: 'whitespace only', contentType: JSON_TYPE, body: ' \r\n\t ', expect: invalid('(body)') },
    { name: 'no body and no content-type', expect: invalid('(body)') },
    // Content types the functions do not read.
    ...[
      ['text/plain', 'text/plain;charset=UTF-8', good],
      ['form', 'application/x-www-form-urlencoded', 'productId=premium_monthly&transactionId=1'],
      [
        'multipart',
        'multipart/form-data; boundary=XyZ',
        `--XyZ\r\nContent-Disposition: form-data; name="body"\r\n\r\n${good}\r\n--XyZ--\r\n`,
      ],
      ['xml', 'application/xml', '<productId>premium_monthly</productId>'],
      ['octet-stream', 'application/octet-stream', good],
      ['a json look-alike', 'text/json', good],
    ].map(([name, contentType, body]) => ({
      name: `content-type ${name}`,
      contentType,
      body,
      expect: reject(415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type'),
    })),
    { name: 'no content-type', body: good, expect: reject(415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type') },
    // Content types that are JSON: base64-encoded by the gateway (vnd+json) or not.
    {
      name: 'content-type vnd+json (base64 event)',
      contentType: 'application/vnd.api+json',
      body: good,
      expect: DOMAIN,
    },
    {
      name: 'content-type in capitals with charset',
      contentType: 'APPLICATION/JSON; charset=UTF-8',
      body: good,
      expect: DOMAIN,
    },
    {
      name: 'content-type json but UTF-16 bytes',
      contentType: 'application/json; charset=utf-16le',
      body: Buffer.from(good, 'utf16le'),
      expect: invalid('(body)'),
    },
    // Sizes: ours (256 KiB) and API Gateway's (10 MB).
    {
      name: 'exactly at our body limit',
      contentType: JSON_TYPE,
      body: padTo(DEFAULT_MAX_BODY_BYTES),
      expect: DOMAIN,
    },
    {
      name: 'one byte over our body limit',
      contentType: JSON_TYPE,
      body: padTo(DEFAULT_MAX_BODY_BYTES + 1),
      expect: reject(413, 'PAYLOAD_TOO_LARGE', String(DEFAULT_MAX_BODY_BYTES)),
    },
    {
      name: "over API Gateway's 10 MB",
      contentType: JSON_TYPE,
      body: padTo(10 * 1024 * 1024 + 1),
      expect: { kind: 'gateway', status: 413 },
    },
    // Deep nesting: V8's parser copes; nothing may recurse into it afterwards.
    {
      name: 'arrays nested 100 000 deep',
      contentType: JSON_TYPE,
      body: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      expect: invalid('(body)'),
    },
    {
      name: 'an unknown field nested 40 000 deep',
      contentType: JSON_TYPE,
      body: `${good.slice(0, -1)},"deep":${'{"a":'.repeat(40_000)}1${'}'.repeat(40_000)}}`,
      expect: DOMAIN,
    },
    {
      name: 'a 100 000-character unknown key',
      contentType: JSON_TYPE,
      body: `${good.slice(0, -1)},"${'k'.repeat(100_000)}":1}`,
      expect: DOMAIN,
    },
    // Prototype keys: own data properties after JSON.parse, never the prototype.
    {
      name: '__proto__ at top level',
      contentType: JSON_TYPE,
      body: `{"__proto__":{"polluted":"yes","isAdmin":true},${good.slice(1)}`,
      expect: DOMAIN,
    },
    {
      name: 'constructor.prototype at top level',
      contentType: JSON_TYPE,
      body: `{"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"},${good.slice(1)}`,
      expect: DOMAIN,
    },
  ];
  return cases;
}

function verifyFieldCases(endpoint: 'apple' | 'google'): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const idField = endpoint === 'apple' ? 'transactionId' : 'purchaseToken';
  const add = (name: string, body: string, expect: Expectation) =>
    cases.push({ name, contentType: JSON_TYPE, body, expect });

  for (const [field, spec] of Object.entries(FIELDS[endpoint])) {
    // Wrong JSON types, for every field.
    for (const [label, value] of [
      ['a number', 42],
      ['a boolean', true],
      ['null', null],
      ['an array', ['premium_monthly']],
      ['an object', { value: 'premium_monthly' }],
    ] as const) {
      add(`${field} as ${label}`, withField(endpoint, field, value), invalid(field));
    }
    if (spec.kind === 'enum') {
      for (const value of [
        '',
        'lifetime',
        'SUBSCRIPTION',
        ODD_TEXT.illFormed.loneHigh,
        ODD_TEXT.wellFormed.rtlOverride,
      ])
        add(`${field} = ${JSON.stringify(value)}`, withField(endpoint, field, value), invalid(field));
      continue;
    }
    const max = spec.maxLength ?? 200;
    add(`${field} empty`, withField(endpoint, field, ''), invalid(field));
    add(`${field} blank`, withField(endpoint, field, ' \t\u00a0 '), invalid(field));
    add(`${field} one over its limit`, withField(endpoint, field, 'x'.repeat(max + 1)), invalid(field));
    add(`${field} 100 000 characters`, withField(endpoint, field, 'x'.repeat(100_000)), invalid(field));
    // Limits count characters (code points), so a surrogate pair is one.
    add(
      `${field} of emoji at its limit`,
      withField(endpoint, field, '😀'.repeat(max)),
      endpoint === 'google' && max === 2000 ? invalid(field) : DOMAIN,
    );
    add(`${field} of emoji past its limit`, withField(endpoint, field, '😀'.repeat(max + 1)), invalid(field));
    for (const [label, value] of Object.entries(ODD_TEXT.illFormed))
      add(`${field} with ${label}`, withField(endpoint, field, value), invalid(field));
    for (const [label, value] of Object.entries(ODD_TEXT.wellFormed)) {
      // A well-formed odd productId on Google has no catalog type unless the body sends one (it does).
      add(`${field} with ${label}`, withField(endpoint, field, value), DOMAIN);
    }
  }
  // Required fields missing; the docs' alternative names are not a way around them.
  add('productId missing', json({ ...WELL_FORMED[endpoint], productId: undefined }), invalid('productId'));
  add(`${idField} missing`, json({ ...WELL_FORMED[endpoint], [idField]: undefined }), invalid(idField));
  add('empty object', '{}', invalid('productId'));
  add(
    '__proto__ supplying the required fields',
    `{"__proto__":${json(WELL_FORMED[endpoint])}}`,
    invalid('productId'),
  );
  add(
    '__proto__ nested in a field',
    `{"productId":{"__proto__":{"polluted":"yes"}},"${idField}":{"constructor":{"prototype":{"polluted":"yes"}}}}`,
    invalid('productId', idField),
  );
  add(
    'platform of the other store',
    withField(endpoint, 'platform', endpoint === 'apple' ? 'google' : 'apple'),
    invalid('platform'),
  );
  if (endpoint === 'google') {
    add(
      'an unknown product without a type',
      json({ productId: 'not_in_catalog', purchaseToken: 'corpus-token-1' }),
      invalid('type'),
    );
    add(
      'a product id that names an Object.prototype member, without a type',
      json({ productId: 'constructor', purchaseToken: 'corpus-token-1' }),
      invalid('type'),
    );
  }
  // A field in the user's place is ignored: the caller is the token's `sub`, always.
  add(
    'a userId and a sub in the body',
    json({ ...WELL_FORMED[endpoint], userId: 'someone-else', sub: 'someone-else' }),
    DOMAIN,
  );
  return cases;
}

function restoreCases(): CorpusCase[] {
  const entry = (WELL_FORMED.restore.transactions as unknown[])[0] as Record<string, unknown>;
  const cases: CorpusCase[] = [];
  const add = (name: string, body: string, expect: Expectation) =>
    cases.push({ name, contentType: JSON_TYPE, body, expect });
  for (const [label, value] of [
    ['missing', undefined],
    ['a number', 42],
    ['a string', 'all'],
    ['null', null],
    ['an object', { 0: entry }],
    ['501 entries', Array.from({ length: 501 }, () => entry)],
  ] as const) {
    add(`transactions ${label}`, json({ transactions: value }), invalid('transactions'));
  }
  add('__proto__ holding transactions', `{"__proto__":{"transactions":[]}}`, invalid('transactions'));
  add('transactions with a __proto__ key', `{"transactions":{"__proto__":[]}}`, invalid('transactions'));
  // Entries are checked one by one: a bad one is skipped (best effort), the answer is the user's set.
  const oddEntries: unknown[] = [
    null,
    42,
    'apple',
    [],
    {},
    { ...entry, platform: 'windows' },
    { ...entry, productId: 7 },
    { ...entry, transactionId: ODD_TEXT.illFormed.loneHigh },
    { ...entry, transactionId: ODD_TEXT.illFormed.nul },
    { ...entry, transactionId: 'x'.repeat(129) },
    { platform: 'google', productId: 'premium_monthly', purchaseToken: 'x'.repeat(2001) },
    { platform: 'google', productId: 'not_in_catalog', purchaseToken: 'corpus-token-2' },
  ];
  add('entries of every wrong shape', json({ transactions: oddEntries }), DOMAIN);
  add(
    'an entry whose fields hide behind __proto__',
    `{"transactions":[{"__proto__":${json(entry)}},{"constructor":{"prototype":{"polluted":"yes"}}}]}`,
    DOMAIN,
  );
  add('an empty list', json({ transactions: [] }), DOMAIN);
  add(
    'entries with odd but well-formed ids',
    json({
      transactions: Object.values(ODD_TEXT.wellFormed).map((id) => ({ ...entry, transactionId: id })),
    }),
    DOMAIN,
  );
  return cases;
}

export function bodyCorpus(endpoint: BodyEndpoint): CorpusCase[] {
  return [
    ...framingCases(endpoint),
    ...(endpoint === 'restore' ? restoreCases() : verifyFieldCases(endpoint)),
  ];
}

// ─── Arbitrary bodies ───────────────────────────────────────────────────────────────────────

const oddPiece = fc.constantFrom(
  ...Object.values(ODD_TEXT.wellFormed),
  ...Object.values(ODD_TEXT.illFormed),
  '__proto__',
  'constructor',
  'prototype',
);
/** Text mixing arbitrary code points with the odd pieces above. */
export const oddString = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), oddPiece), { maxLength: 6 })
  .map((parts) => parts.join(''));

const anyJson = fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' });
/** Mostly the valid value, so a good share of bodies passes validation and reaches Attesto. */
const fieldValue = (valid: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 1, arbitrary: oddString },
    { weight: 1, arbitrary: anyJson },
  );
const keyName = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'userId', 'sub'),
  oddString,
);

/** Objects with the route's fields (each valid, odd or any JSON) and stray keys, or any JSON at all. */
export function bodyArbitrary(endpoint: BodyEndpoint): fc.Arbitrary<unknown> {
  const productType = fc.constantFrom('subscription', 'product', 'consumable');
  const productId = fieldValue(fc.constantFrom('premium_monthly', 'remove_ads', 'coins_100'));
  const transactionId = fieldValue(fc.bigInt({ min: 1n, max: 10n ** 16n }).map(String));
  const purchaseToken = fieldValue(fc.string({ minLength: 1, maxLength: 40 }));
  // The required fields are usually present; the optional ones come and go.
  const appleFields = fc
    .tuple(
      fc.record({ productId, transactionId }, { requiredKeys: [] }),
      fc.record({ productId, transactionId }),
      fc.record(
        { platform: fieldValue(fc.constant('apple')), type: fieldValue(productType), token: transactionId },
        { requiredKeys: [] },
      ),
      fc.boolean(),
    )
    .map(([sparse, full, optional, complete]) => ({ ...optional, ...(complete ? full : sparse) }));
  const googleFields = fc
    .tuple(
      fc.record({ productId, purchaseToken }, { requiredKeys: [] }),
      fc.record({ productId, purchaseToken }),
      fc.record(
        {
          platform: fieldValue(fc.constant('google')),
          packageName: fieldValue(fc.constant('com.example.app')),
          type: fieldValue(productType),
          token: purchaseToken,
        },
        { requiredKeys: [] },
      ),
      fc.boolean(),
    )
    .map(([sparse, full, optional, complete]) => ({ ...optional, ...(complete ? full : sparse) }));
  const entry = fc.oneof(
    appleFields.map((e) => ({ platform: 'apple', ...e })),
    googleFields.map((e) => ({ platform: 'google', ...e })),
    anyJson,
  );
  const shaped =
    endpoint === 'restore'
      ? fc.record({ transactions: fieldValue(fc.array(entry, { maxLength: 6 })) }, { requiredKeys: [] })
      : endpoint === 'apple'
        ? appleFields
        : googleFields;
  const withStrays = fc
    .tuple(shaped, fc.dictionary(keyName, anyJson, { maxKeys: 3 }))
    .map(([body, strays]) => Object.assign(Object.create(null), strays, body));
  return fc.oneof({ weight: 4, arbitrary: withStrays }, { weight: 1, arbitrary: anyJson });
}
