import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ErrorBody } from './error-body';
import { HttpError } from './errors';

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

export function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

/** The single error → HTTP mapping (architecture §6). */
export function errorResponse(error: unknown, requestId: string): APIGatewayProxyStructuredResultV2 {
  if (error instanceof HttpError) {
    const body: ErrorBody = { error: error.code, message: error.message };
    if (error.issues?.length) body.issues = error.issues;
    const response = json(error.statusCode, body);
    if (error.retryAfterSeconds !== undefined) {
      response.headers = { ...response.headers, 'retry-after': String(error.retryAfterSeconds) };
    }
    return response;
  }
  const body: ErrorBody = { error: 'INTERNAL_ERROR', message: 'Internal error', requestId };
  return json(500, body);
}
