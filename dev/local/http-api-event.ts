// Builds the Lambda event that API Gateway HTTP API sends with payload format 2.0, from a raw
// Node request. Every field follows what API Gateway really delivers, so a handler that works
// here works behind the deployed API unchanged.
import { randomBytes } from 'node:crypto';
import type {
  APIGatewayEventRequestContextJWTAuthorizer,
  APIGatewayProxyEventV2WithJWTAuthorizer,
} from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from './lambda-context';
import type { IamIdentity } from './sigv4-authorizer';

export interface RawRequest {
  method: string;
  /** Path and query exactly as sent on the request line. */
  url: string;
  /** Node's `rawHeaders`: name, value, name, value, … in arrival order. */
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
  protocol: string;
}

export interface EventOptions {
  routeKey: string;
  pathParameters: Record<string, string>;
  /** Present only on routes behind an authorizer: the JWT's claims, or the IAM caller. */
  authorizer?: APIGatewayEventRequestContextJWTAuthorizer | { iam: IamIdentity };
  requestId: string;
  now: number;
  apiId?: string;
  port?: number;
}

/**
 * API Gateway passes a body as UTF-8 text only for these media types; everything else, a
 * missing Content-Type and form posts included, arrives base64-encoded with isBase64Encoded.
 */
export function isTextMediaType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    mediaType.startsWith('text/') ||
    mediaType === 'application/json' ||
    mediaType === 'application/xml' ||
    mediaType === 'application/javascript'
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `21/Nov/2026:20:15:00 +0000`, the format of `requestContext.time`. */
export function apiGatewayTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

/** Short opaque ids like API Gateway's (`JKJaXmPLvHcESHA=`). */
export function apiGatewayRequestId(): string {
  return randomBytes(11).toString('base64');
}

function traceHeader(now: number): string {
  return `Root=1-${Math.floor(now / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

export function buildHttpApiEvent(
  req: RawRequest,
  options: EventOptions,
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const queryIndex = req.url.indexOf('?');
  const rawPath = queryIndex === -1 ? req.url : req.url.slice(0, queryIndex);
  const rawQueryString = queryIndex === -1 ? '' : req.url.slice(queryIndex + 1);

  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  // Headers API Gateway adds in front of every integration.
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']},${req.sourceIp}`
    : req.sourceIp;
  headers['x-forwarded-port'] ??= String(options.port ?? 80);
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-amzn-trace-id'] ??= traceHeader(options.now);

  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    query[key] = key in query ? `${query[key]},${value}` : value;
  }

  const host = (headers.host ?? 'localhost').replace(/:\d+$/, '');
  const hasBody = req.body.length > 0;
  const text = isTextMediaType(headers['content-type']);

  const event: APIGatewayProxyEventV2WithJWTAuthorizer = {
    version: '2.0',
    routeKey: options.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: options.apiId ?? 'local',
      ...(options.authorizer ? { authorizer: options.authorizer } : {}),
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method: req.method,
        path: rawPath,
        protocol: req.protocol,
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: options.requestId,
      routeKey: options.routeKey,
      stage: '$default',
      time: apiGatewayTime(options.now),
      timeEpoch: options.now,
    } as APIGatewayProxyEventV2WithJWTAuthorizer['requestContext'],
    ...(Object.keys(options.pathParameters).length ? { pathParameters: options.pathParameters } : {}),
    isBase64Encoded: hasBody && !text,
  };
  if (hasBody) event.body = text ? req.body.toString('utf8') : req.body.toString('base64');
  return event;
}
