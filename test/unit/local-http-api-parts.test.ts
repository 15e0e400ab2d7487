import { describe, expect, it } from 'vitest';
import { apiGatewayTime, isTextMediaType } from '../../dev/local/http-api-event';
import { InvalidLambdaResponseError, toHttpResponse } from '../../dev/local/http-api-result';
import { createRouteMatcher } from '../../dev/local/route-matcher';
import { corsSettings, DEFAULT_CORS_ORIGINS } from '../../infra/cors';
import { routeTable } from '../../infra/routes';

describe('route matching like HTTP API', () => {
  const match = createRouteMatcher([
    { method: 'GET', path: '/items/{proxy+}', fn: 'products', auth: 'none' },
    { method: 'GET', path: '/items/{id}', fn: 'uuid', auth: 'none' },
    { method: 'GET', path: '/items/special', fn: 'restore', auth: 'none' },
  ]);

  it('prefers literal segments, then parameters, then greedy paths', () => {
    expect(match('GET', '/items/special')?.route.fn).toBe('restore');
    expect(match('GET', '/items/42')).toMatchObject({
      routeKey: 'GET /items/{id}',
      pathParameters: { id: '42' },
    });
    expect(match('GET', '/items/a/b')).toMatchObject({
      routeKey: 'GET /items/{proxy+}',
      pathParameters: { proxy: 'a/b' },
    });
  });

  it('requires the method to match', () => {
    expect(match('POST', '/items/42')).toBeUndefined();
  });

  it('serves every route of the real table, products public unless configured', () => {
    const open = createRouteMatcher(routeTable());
    for (const route of routeTable()) expect(open(route.method, route.path)?.route).toEqual(route);
    expect(open('GET', '/api/iap/products')?.route.auth).toBe('none');
    const closed = createRouteMatcher(routeTable({ productsRequireAuth: true }));
    expect(closed('GET', '/api/iap/products')?.route.auth).toBe('user');
  });
});

describe('API Gateway formats', () => {
  it('formats requestContext.time as API Gateway does', () => {
    expect(apiGatewayTime(Date.UTC(2026, 10, 21, 20, 15, 0))).toBe('21/Nov/2026:20:15:00 +0000');
    expect(apiGatewayTime(Date.UTC(2027, 0, 2, 3, 4, 5))).toBe('02/Jan/2027:03:04:05 +0000');
  });

  it('treats only text/*, JSON, XML and JavaScript bodies as text', () => {
    expect(isTextMediaType('application/json; charset=utf-8')).toBe(true);
    expect(isTextMediaType('Text/HTML')).toBe(true);
    expect(isTextMediaType('application/javascript')).toBe(true);
    expect(isTextMediaType('application/x-www-form-urlencoded')).toBe(false);
    expect(isTextMediaType('image/png')).toBe(false);
    expect(isTextMediaType(undefined)).toBe(false);
  });
});

describe('handler result → HTTP response', () => {
  it('merges headers, multi-value headers and cookies', () => {
    const res = toHttpResponse({
      statusCode: 204,
      multiValueHeaders: { 'X-A': ['1', '2'], 'x-b': ['old'] },
      headers: { 'x-b': 'new', 'X-C': true },
      cookies: ['k=v'],
    });
    expect(res).toEqual({
      statusCode: 204,
      headers: { 'x-a': ['1', '2'], 'x-b': 'new', 'x-c': 'true', 'set-cookie': ['k=v'] },
      body: Buffer.alloc(0),
    });
  });

  it('rejects what API Gateway cannot map', () => {
    expect(() => toHttpResponse({ statusCode: 99 })).toThrow(InvalidLambdaResponseError);
    expect(() => toHttpResponse({ statusCode: 200, body: { not: 'a string' } })).toThrow(
      InvalidLambdaResponseError,
    );
  });

  it('answers 200 JSON for a result without statusCode', () => {
    const res = toHttpResponse([1, 2]);
    expect(res.statusCode).toBe(200);
    expect(res.body.toString()).toBe('[1,2]');
  });
});

describe('CORS settings shared with the stack', () => {
  it('defaults to the Capacitor origins, GET/POST and the two request headers', () => {
    expect(corsSettings({})).toEqual({
      allowOrigins: DEFAULT_CORS_ORIGINS,
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['authorization', 'content-type'],
      maxAgeSeconds: 600,
    });
  });

  it('reads CORS_ORIGINS as a comma list', () => {
    expect(
      corsSettings({ CORS_ORIGINS: ' https://app.example , capacitor://localhost,' }).allowOrigins,
    ).toEqual(['https://app.example', 'capacitor://localhost']);
  });
});
