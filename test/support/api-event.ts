import type { Context } from 'aws-lambda';
import type { ApiEvent } from '../../shared/http/api-handler';

/** An API Gateway HTTP API (payload 2.0) event as the JWT authorizer passes it, for unit tests. */
export function apiEvent(
  overrides: {
    method?: string;
    path?: string;
    body?: string;
    base64?: boolean;
    sub?: string | null;
    headers?: Record<string, string>;
  } = {},
): ApiEvent {
  const method = overrides.method ?? 'POST';
  const path = overrides.path ?? '/api/iap/test';
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...overrides.headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'test.local',
      domainPrefix: 'test',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'req-test-1',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '21/Nov/2026:20:00:00 +0000',
      timeEpoch: 1_795_000_000_000,
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: { claims: overrides.sub === null ? {} : { sub: overrides.sub ?? 'alice' }, scopes: [] },
      },
    },
    ...(overrides.body === undefined
      ? {}
      : {
          body: overrides.base64 ? Buffer.from(overrides.body).toString('base64') : overrides.body,
          isBase64Encoded: Boolean(overrides.base64),
        }),
    isBase64Encoded: Boolean(overrides.base64),
  } as ApiEvent;
}

export function lambdaContext(name = 'test-fn'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: 'aws-req-1',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
