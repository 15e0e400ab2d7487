import type { Context } from 'aws-lambda';
import { apiGatewayTime } from '../../infra/local/http-api-event';
import type { ApiEvent } from '../../shared/http/api-handler';

export interface HttpApiEventInput {
  method: string;
  path: string;
  body?: string;
  /** The body is sent base64-encoded, as API Gateway does for non-text media types. */
  base64?: boolean;
  headers?: Record<string, string>;
  /** The JWT authorizer's claims; absent on a route without the authorizer. */
  claims?: Record<string, string>;
  requestId: string;
  timeEpoch: number;
}

/** An API Gateway HTTP API (payload 2.0) event, for tests and the bench. */
export function httpApiEvent(input: HttpApiEventInput): ApiEvent {
  const { method, path } = input;
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...input.headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'test.local',
      domainPrefix: 'test',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: input.requestId,
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: apiGatewayTime(input.timeEpoch),
      timeEpoch: input.timeEpoch,
      ...(input.claims
        ? {
            authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: input.claims, scopes: [] } },
          }
        : {}),
    },
    ...(input.body === undefined
      ? {}
      : { body: input.base64 ? Buffer.from(input.body).toString('base64') : input.body }),
    isBase64Encoded: Boolean(input.base64),
  } as ApiEvent;
}

/** An event as the JWT authorizer passes it, for unit tests: fixed ids and time, user alice. */
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
  return httpApiEvent({
    method: overrides.method ?? 'POST',
    path: overrides.path ?? '/api/iap/test',
    ...(overrides.body === undefined ? {} : { body: overrides.body }),
    ...(overrides.base64 === undefined ? {} : { base64: overrides.base64 }),
    ...(overrides.headers ? { headers: overrides.headers } : {}),
    claims: overrides.sub === null ? {} : { sub: overrides.sub ?? 'alice' },
    requestId: 'req-test-1',
    timeEpoch: 1_795_000_000_000,
  });
}

/** A Lambda context; `remainingMs` is what getRemainingTimeInMillis answers (a fixed 10 s by default). */
export function lambdaContext(name = 'test-fn', remainingMs: () => number = () => 10_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: 'aws-req-1',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
