// A local stand-in for the API Gateway HTTP API: the same route table, CORS, JWT authorizer and
// payload-2.0 events, and the same answers API Gateway gives on its own (404, 401, 413, 500).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayEventRequestContextJWTAuthorizer } from 'aws-lambda';
import type { CorsSettings } from '../../infra/cors';
import type { FunctionName } from '../../infra/functions';
import type { Route } from '../../infra/routes';
import type { HandlerResolver } from './function-handlers';
import { apiGatewayRequestId, buildHttpApiEvent, type EventOptions } from './http-api-event';
import { type HttpResponse, toHttpResponse } from './http-api-result';
import { createLambdaContext, invokeWithTimeout } from './lambda-context';
import { createRouteMatcher } from './route-matcher';
import type { OperatorAuthorizer } from './sigv4-authorizer';

/** API Gateway's request payload quota for HTTP APIs. */
const MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;

/** Returns the claims for a valid `Authorization` header, or undefined to answer 401. */
export type Authorizer = (
  authorization: string | undefined,
) => Promise<APIGatewayEventRequestContextJWTAuthorizer | undefined>;

/** Extra local-only endpoints (the dev token issuer): a response, or undefined to route normally. */
export type ExtraEndpoints = (req: IncomingMessage, body: Buffer) => Promise<HttpResponse | undefined>;

export interface HttpApiOptions {
  routes: Route[];
  resolveHandler: HandlerResolver;
  /** Required when any route has `auth: 'user'`. */
  authorize?: Authorizer;
  /** The IAM (SigV4) check of `auth: 'operator'` routes; without it they answer 403 to everyone. */
  authorizeOperator?: OperatorAuthorizer;
  cors?: CorsSettings;
  timeoutSeconds: (fn: FunctionName) => number;
  extraEndpoints?: ExtraEndpoints;
  maxBodyBytes?: number;
  /** One line per request; silent when absent. */
  log?: (line: string) => void;
  /** Where a handler's unexpected failure is reported (API Gateway's answer stays generic). */
  onFunctionError?: (fn: FunctionName | undefined, error: unknown) => void;
}

export interface HttpApi {
  url: string;
  port: number;
  server: Server;
  stop(): Promise<void>;
}

const message = (statusCode: number, text: string): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ message: text })),
});

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function corsHeaders(cors: CorsSettings | undefined, origin: string | undefined): Record<string, string> {
  if (!cors || !origin) return {};
  const allowed = cors.allowOrigins.includes('*') || cors.allowOrigins.includes(origin);
  return allowed ? { 'access-control-allow-origin': cors.allowOrigins.includes('*') ? '*' : origin } : {};
}

function createHttpApiListener(options: HttpApiOptions) {
  const match = createRouteMatcher(options.routes);
  const limit = options.maxBodyBytes ?? MAX_REQUEST_BODY_BYTES;
  if (!options.authorize && options.routes.some((r) => r.auth === 'user')) {
    throw new Error('routes behind the JWT authorizer need an authorize function');
  }

  async function answer(req: IncomingMessage, res: ServerResponse, port: number): Promise<HttpResponse> {
    const method = req.method ?? 'GET';
    const origin = req.headers.origin;

    // With CORS configured, API Gateway answers every preflight itself, whatever the path.
    if (options.cors && method === 'OPTIONS' && req.headers['access-control-request-method']) {
      const allowed = corsHeaders(options.cors, origin);
      const headers: Record<string, string> = { ...allowed };
      if (allowed['access-control-allow-origin']) {
        headers['access-control-allow-methods'] = options.cors.allowMethods.join(',');
        headers['access-control-allow-headers'] = options.cors.allowHeaders.join(',');
        headers['access-control-max-age'] = String(options.cors.maxAgeSeconds);
      }
      req.resume();
      return { statusCode: 204, headers, body: Buffer.alloc(0) };
    }

    let body: Buffer;
    try {
      body = await readBody(req, limit);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        const tooLarge = message(413, 'Request Entity Too Large');
        tooLarge.headers.connection = 'close';
        return tooLarge;
      }
      throw error;
    }

    const extra = await options.extraEndpoints?.(req, body);
    if (extra) return extra;

    const rawUrl = req.url ?? '/';
    const path = rawUrl.split('?')[0] ?? '/';
    const matched = match(method, path);
    if (!matched) return message(404, 'Not Found');

    let authorizer: EventOptions['authorizer'];
    if (matched.route.auth === 'user') {
      authorizer = await options.authorize?.(req.headers.authorization);
      if (!authorizer) return message(401, 'Unauthorized');
    }
    if (matched.route.auth === 'operator') {
      const iam = await options.authorizeOperator?.({ method, url: rawUrl, headers: req.headers, body });
      if (!iam) return message(403, 'Forbidden');
      authorizer = { iam };
    }

    const fn = matched.route.fn;
    const now = Date.now();
    const requestId = apiGatewayRequestId();
    const event = buildHttpApiEvent(
      {
        method,
        url: rawUrl,
        rawHeaders: req.rawHeaders,
        body,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        protocol: `HTTP/${req.httpVersion}`,
      },
      {
        routeKey: matched.routeKey,
        pathParameters: matched.pathParameters,
        ...(authorizer ? { authorizer } : {}),
        requestId,
        now,
        port,
      },
    );
    res.setHeader('apigw-requestid', requestId);
    const timeoutSeconds = options.timeoutSeconds(fn);
    try {
      const handler = await options.resolveHandler(fn);
      const context = createLambdaContext({ functionName: fn, timeoutSeconds });
      const result = await invokeWithTimeout(fn, timeoutSeconds, () => handler(event, context));
      return toHttpResponse(result);
    } catch (error) {
      options.onFunctionError?.(fn, error);
      return message(500, 'Internal Server Error');
    }
  }

  return (req: IncomingMessage, res: ServerResponse) => {
    const started = Date.now();
    const port = req.socket.localPort ?? 0;
    answer(req, res, port)
      .catch((error: unknown) => {
        options.onFunctionError?.(undefined, error);
        return message(500, 'Internal Server Error');
      })
      .then((response) => {
        const headers: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          // API Gateway replaces a backend's own CORS headers with its configuration.
          if (options.cors && name.startsWith('access-control-') && req.method !== 'OPTIONS') continue;
          headers[name] = value;
        }
        if (req.method !== 'OPTIONS') Object.assign(headers, corsHeaders(options.cors, req.headers.origin));
        headers['content-length'] = String(response.body.length);
        res.writeHead(response.statusCode, headers);
        res.end(response.body);
        options.log?.(`${req.method} ${req.url} → ${response.statusCode} (${Date.now() - started} ms)`);
        if (response.statusCode === 413) req.destroy();
      });
  };
}

export async function startHttpApi(
  options: HttpApiOptions & { port?: number; host?: string },
): Promise<HttpApi> {
  const server = createServer(createHttpApiListener(options));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
