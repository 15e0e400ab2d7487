import { request } from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LambdaHandler } from '../../dev/local/function-handlers';
import { type HttpApi, startHttpApi } from '../../dev/local/http-api';
import { corsSettings } from '../../infra/cors';
import type { FunctionName } from '../../infra/functions';
import type { Route } from '../../infra/routes';

// A test route table and fake functions: what each handler received, and what it answers.
const routes: Route[] = [
  { method: 'POST', path: '/echo/{id}', fn: 'verify-apple', auth: 'none' },
  { method: 'GET', path: '/me', fn: 'entitlements', auth: 'user' },
  { method: 'GET', path: '/answer', fn: 'products', auth: 'none' },
  { method: 'GET', path: '/boom', fn: 'restore', auth: 'none' },
  { method: 'GET', path: '/slow', fn: 'uuid', auth: 'none' },
];

let received: { event: APIGatewayProxyEventV2WithJWTAuthorizer; context: Context } | undefined;
let answer: unknown;
const handlers: Partial<Record<FunctionName, LambdaHandler>> = {
  'verify-apple': async (event, context) => {
    received = { event: event as APIGatewayProxyEventV2WithJWTAuthorizer, context };
    return { statusCode: 200, body: 'ok' };
  },
  entitlements: async (event, context) => {
    received = { event: event as APIGatewayProxyEventV2WithJWTAuthorizer, context };
    return { statusCode: 200, body: 'me' };
  },
  products: async () => answer,
  restore: async () => {
    throw new Error('handler failure with a secret detail');
  },
  // Runs far past its 1 s timeout, so the bound on the answer cannot be met by waiting it out.
  uuid: () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), 30_000).unref()),
};

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(
  api: HttpApi,
  method: string,
  path: string,
  headers: Record<string, string | string[]> = {},
  body?: Buffer | string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(`${api.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('local HTTP API emulator (payload format 2.0)', () => {
  let api: HttpApi;
  const functionErrors: unknown[] = [];

  beforeAll(async () => {
    api = await startHttpApi({
      routes,
      resolveHandler: async (fn) => handlers[fn] as LambdaHandler,
      authorize: async (authorization) =>
        authorization === 'Bearer good' ? { jwt: { claims: { sub: 'alice' }, scopes: null } } : undefined,
      cors: corsSettings({}),
      timeoutSeconds: (fn) => (fn === 'uuid' ? 1 : 10),
      maxBodyBytes: 1024,
      onFunctionError: (_fn, error) => functionErrors.push(error),
    });
  });
  afterAll(() => api.stop());
  beforeEach(() => {
    received = undefined;
  });

  it('builds the event as API Gateway does: route key, path, query, headers, cookies', async () => {
    await send(
      api,
      'POST',
      '/echo/a%20b?x=1&x=2&y=&z=%C3%A9',
      {
        'X-Multi': ['one', 'two'],
        Cookie: ['a=1; b=2', 'c=3'],
        'content-type': 'application/json',
        'user-agent': 'test-agent',
      },
      '{"k":"v"}',
    );
    const event = received?.event as APIGatewayProxyEventV2WithJWTAuthorizer;
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('POST /echo/{id}');
    expect(event.rawPath).toBe('/echo/a%20b');
    expect(event.rawQueryString).toBe('x=1&x=2&y=&z=%C3%A9');
    expect(event.queryStringParameters).toEqual({ x: '1,2', y: '', z: 'é' });
    expect(event.pathParameters).toEqual({ id: 'a b' });
    expect(event.headers['x-multi']).toBe('one,two');
    expect(event.headers['user-agent']).toBe('test-agent');
    expect(Object.keys(event.headers).every((h) => h === h.toLowerCase())).toBe(true);
    expect(event.headers.cookie).toBeUndefined();
    expect(event.cookies).toEqual(['a=1', 'b=2', 'c=3']);
    expect(event.body).toBe('{"k":"v"}');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext.authorizer).toBeUndefined();

    const ctx = event.requestContext;
    expect(ctx).toMatchObject({
      accountId: expect.stringMatching(/^\d{12}$/),
      apiId: expect.any(String),
      domainName: '127.0.0.1',
      domainPrefix: '127',
      routeKey: 'POST /echo/{id}',
      stage: '$default',
      http: {
        method: 'POST',
        path: '/echo/a%20b',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test-agent',
      },
    });
    expect(ctx.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    // Now, in milliseconds: a minute of slack, and still no mistaking seconds or a fixed date.
    expect(Math.abs(ctx.timeEpoch - Date.now())).toBeLessThan(60_000);
    expect(ctx.requestId).toMatch(/\S{8,}/);
  });

  it('gives the function a Lambda context with its time budget', async () => {
    await send(api, 'POST', '/echo/1');
    const context = received?.context as Context;
    expect(context.functionName).toBe('verify-apple');
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    // This function's 10 s (not /slow's 1 s), less however long a busy machine took to get here.
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(5_000);
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(10_000);
  });

  it('omits the body, query and cookies when there are none', async () => {
    await send(api, 'POST', '/echo/1');
    const event = received?.event as APIGatewayProxyEventV2WithJWTAuthorizer;
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
    expect(event.rawQueryString).toBe('');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('cookies');
  });

  it.each([
    ['application/octet-stream', true],
    ['application/x-www-form-urlencoded', true],
    [undefined, true],
    ['text/plain; charset=utf-8', false],
    ['application/xml', false],
  ])('body with content-type %s is base64-encoded: %s', async (contentType, base64) => {
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x41]);
    await send(api, 'POST', '/echo/1', contentType ? { 'content-type': contentType } : {}, bytes);
    const event = received?.event as APIGatewayProxyEventV2WithJWTAuthorizer;
    expect(event.isBase64Encoded).toBe(base64);
    expect(event.body).toBe(base64 ? bytes.toString('base64') : bytes.toString('utf8'));
  });

  it('passes the authorizer claims on user routes and answers 401 itself otherwise', async () => {
    expect((await send(api, 'GET', '/me')).status).toBe(401);
    const refused = await send(api, 'GET', '/me', { authorization: 'Bearer bad' });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body.toString())).toEqual({ message: 'Unauthorized' });
    expect(received).toBeUndefined();

    const ok = await send(api, 'GET', '/me', { authorization: 'Bearer good' });
    expect(ok.status).toBe(200);
    expect(received?.event.requestContext.authorizer.jwt.claims.sub).toBe('alice');
    expect(received?.event.routeKey).toBe('GET /me');
  });

  it('writes a structured result: status, headers, multi-value headers, cookies, base64 body', async () => {
    answer = {
      statusCode: 201,
      headers: { 'X-One': 'a', 'x-num': 7 },
      multiValueHeaders: { 'x-many': ['m1', 'm2'] },
      cookies: ['s=1; Path=/', 't=2'],
      body: Buffer.from([1, 2, 3, 250]).toString('base64'),
      isBase64Encoded: true,
    };
    const res = await send(api, 'GET', '/answer');
    expect(res.status).toBe(201);
    expect(res.headers['x-one']).toBe('a');
    expect(res.headers['x-num']).toBe('7');
    expect(res.headers['x-many']).toBe('m1, m2');
    expect(res.headers['set-cookie']).toEqual(['s=1; Path=/', 't=2']);
    expect(res.headers['apigw-requestid']).toBeTruthy();
    expect([...res.body]).toEqual([1, 2, 3, 250]);
  });

  it('turns a result without statusCode into 200 JSON (the v2 shortcut)', async () => {
    answer = { hello: 'world' };
    let res = await send(api, 'GET', '/answer');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body.toString())).toEqual({ hello: 'world' });

    answer = 'plain';
    res = await send(api, 'GET', '/answer');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('plain');
  });

  it('answers 404 for an unknown route or method, and 500 when the function throws or returns nonsense', async () => {
    const missing = await send(api, 'GET', '/nowhere');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toEqual({ message: 'Not Found' });
    expect((await send(api, 'GET', '/echo/1')).status).toBe(404);

    const boom = await send(api, 'GET', '/boom');
    expect(boom.status).toBe(500);
    expect(JSON.parse(boom.body.toString())).toEqual({ message: 'Internal Server Error' });
    expect(boom.body.toString()).not.toContain('secret');
    expect(functionErrors.length).toBeGreaterThan(0);

    answer = { statusCode: 'two hundred' };
    expect((await send(api, 'GET', '/answer')).status).toBe(500);
  });

  it('answers 500 when the function runs past its timeout', async () => {
    const started = Date.now();
    const res = await send(api, 'GET', '/slow');
    expect(res.status).toBe(500);
    // The function's 1 s timeout, not its 30 s of work.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses a body above the size limit with 413', async () => {
    const res = await send(api, 'POST', '/echo/1', { 'content-type': 'application/json' }, 'x'.repeat(2048));
    expect(res.status).toBe(413);
    expect(received).toBeUndefined();
  });

  it('answers CORS preflights for allowed origins and adds the origin to real answers', async () => {
    const preflight = await send(api, 'OPTIONS', '/me', {
      origin: 'capacitor://localhost',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('capacitor://localhost');
    expect(preflight.headers['access-control-allow-methods']).toBe('GET,POST');
    expect(preflight.headers['access-control-allow-headers']).toBe('authorization,content-type');

    const foreign = await send(api, 'OPTIONS', '/me', {
      origin: 'https://evil.example',
      'access-control-request-method': 'GET',
    });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();

    const actual = await send(api, 'GET', '/me', {
      origin: 'https://localhost',
      authorization: 'Bearer good',
    });
    expect(actual.headers['access-control-allow-origin']).toBe('https://localhost');
    const unauthorized = await send(api, 'GET', '/me', { origin: 'https://localhost' });
    expect(unauthorized.headers['access-control-allow-origin']).toBe('https://localhost');
  });
});
