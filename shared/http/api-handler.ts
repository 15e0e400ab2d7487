// The one middy stack every HTTP function uses: JSON body → zod validation → caller identity →
// the handler → the single error mapping, with the invocation's business metrics written at the end. Handlers receive typed input and return a body (sent
// as 200 JSON) or a full API Gateway result.
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { logger } from '../observability/logger';
import { metrics } from '../observability/metrics';
import type { AnySchema, Output } from '../validation';
import * as z from '../validation';
import { HttpError, InvalidRequestError, PayloadTooLargeError, UnauthorizedError } from './errors';
import { errorResponse, json } from './response';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/**
 * The SDK's request bodies are a few hundred bytes; a restore batch of 200 entries stays far below
 * this. Deliberately not the ingest endpoints' limit (MAX_INGEST_BODY_BYTES), which is SQS's
 * message size: this one only bounds what the JSON parser is asked to read, and may change alone.
 */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

export interface ApiRequest<Body> {
  body: Body;
  /** The caller's user id: the JWT `sub` claim (routes with auth `user`). */
  userId: string;
  /** The signing IAM principal's ARN (routes with auth `operator`); empty otherwise. */
  operator: string;
  event: ApiEvent;
  context: Context;
  requestId: string;
}

export interface ApiHandlerOptions<S extends AnySchema | undefined> {
  auth: 'user' | 'operator' | 'none';
  /** Schema of the JSON body; omit for routes that take no body (GET, uuid). */
  body?: S;
  maxBodyBytes?: number;
}

type BodyOf<S> = S extends AnySchema ? Output<S> : undefined;

class UnsupportedMediaTypeError extends HttpError {
  constructor(contentType: string) {
    super(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Expected content-type application/json, got ${contentType || 'none'}`,
    );
  }
}

function readRawBody(event: Pick<ApiEvent, 'body' | 'isBase64Encoded'>): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function parseJsonBody<S extends AnySchema>(
  event: ApiEvent,
  schema: S,
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
): Output<S> {
  const raw = readRawBody(event);
  if (Buffer.byteLength(raw, 'utf8') > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes);
  const contentType = event.headers?.['content-type'] ?? '';
  if (raw.length > 0 && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    throw new UnsupportedMediaTypeError(contentType);
  }
  let value: unknown;
  try {
    value = raw.length ? JSON.parse(raw) : undefined;
  } catch {
    throw new InvalidRequestError('Request body is not valid JSON', [
      { path: '(body)', message: 'Invalid JSON' },
    ]);
  }
  if (value === undefined) {
    throw new InvalidRequestError('Request body is required', [{ path: '(body)', message: 'Required' }]);
  }
  const parsed = z.safeParse(schema, value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: issue.path.length ? issue.path.map(String).join('.') : '(body)',
      message: issue.message,
    }));
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new InvalidRequestError(`Invalid request body: ${summary}`, issues);
  }
  return parsed.data as Output<S>;
}

function callerId(event: ApiEvent): string {
  const sub = event.requestContext.authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0) throw new UnauthorizedError();
  return sub;
}

/** API Gateway's IAM authorizer has already checked the signature; this names who signed. */
function operatorArn(event: ApiEvent): string {
  const iam = (event.requestContext.authorizer as { iam?: { userArn?: unknown } } | undefined)?.iam;
  if (typeof iam?.userArn !== 'string' || iam.userArn.length === 0) throw new UnauthorizedError();
  return iam.userArn;
}

const errorMapping: MiddlewareObj<ApiEvent, ApiResult> = {
  onError: (request) => {
    const requestId = request.event?.requestContext?.requestId ?? request.context?.awsRequestId ?? 'unknown';
    const error = request.error;
    if (error instanceof HttpError && error.statusCode < 500) {
      logger.info('request rejected', { code: error.code, statusCode: error.statusCode, requestId });
    } else {
      logger.error('request failed', { error: error as Error, requestId });
    }
    request.response = errorResponse(error, requestId);
  },
};

export function apiHandler<S extends AnySchema | undefined = undefined>(
  options: ApiHandlerOptions<S>,
  handle: (request: ApiRequest<BodyOf<S>>) => Promise<unknown>,
) {
  return middy<ApiEvent, ApiResult>({ timeoutEarlyInMillis: 0 })
    .use(logMetrics(metrics))
    .use(errorMapping)
    .handler(async (event, context) => {
      const body = (
        options.body ? parseJsonBody(event, options.body, options.maxBodyBytes) : undefined
      ) as BodyOf<S>;
      const userId = options.auth === 'user' ? callerId(event) : '';
      const operator = options.auth === 'operator' ? operatorArn(event) : '';
      const result = await handle({
        body,
        userId,
        operator,
        event,
        context,
        requestId: event.requestContext.requestId,
      });
      if (result && typeof result === 'object' && 'statusCode' in result) return result as ApiResult;
      return json(200, result);
    });
}
