import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { NotImplementedError } from './errors';
import { errorResponse } from './response';

/** Placeholder for a route whose feature has not landed: answers 501 through the one mapping. */
export function notImplemented(what: string) {
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
    errorResponse(new NotImplementedError(what), event.requestContext.requestId);
}
