// Turns what a handler returned into the HTTP response API Gateway HTTP API (payload 2.0) sends.

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export class InvalidLambdaResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidLambdaResponseError';
  }
}

type HeaderValue = string | number | boolean;

function isStructured(result: unknown): result is Record<string, unknown> {
  return typeof result === 'object' && result !== null && 'statusCode' in result;
}

export function toHttpResponse(result: unknown): HttpResponse {
  if (!isStructured(result)) {
    // The v2 shortcut: anything without statusCode is a 200 JSON answer whose body is the
    // function's response (a returned string is used as the body as-is).
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(body, 'utf8'),
    };
  }

  const statusCode = result.statusCode;
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    throw new InvalidLambdaResponseError(
      `statusCode must be an integer HTTP status, got ${String(statusCode)}`,
    );
  }

  const headers: Record<string, string | string[]> = {};
  const add = (name: string, value: HeaderValue) => {
    const key = name.toLowerCase();
    const existing = headers[key];
    if (existing === undefined) headers[key] = String(value);
    else headers[key] = [...(Array.isArray(existing) ? existing : [existing]), String(value)];
  };
  const multi = result.multiValueHeaders as Record<string, HeaderValue[]> | undefined;
  for (const [name, values] of Object.entries(multi ?? {})) {
    for (const value of values ?? []) add(name, value);
  }
  const single = result.headers as Record<string, HeaderValue> | undefined;
  for (const [name, value] of Object.entries(single ?? {})) {
    if (value === undefined || value === null) continue;
    // A single-value header replaces what multiValueHeaders said for the same name.
    delete headers[name.toLowerCase()];
    add(name, value);
  }
  const cookies = result.cookies as string[] | undefined;
  if (cookies?.length) {
    const existing = headers['set-cookie'];
    headers['set-cookie'] = [...(existing === undefined ? [] : [existing].flat()), ...cookies];
  }

  const rawBody = result.body;
  if (rawBody !== undefined && rawBody !== null && typeof rawBody !== 'string') {
    throw new InvalidLambdaResponseError('body must be a string');
  }
  const body =
    typeof rawBody === 'string'
      ? Buffer.from(rawBody, result.isBase64Encoded === true ? 'base64' : 'utf8')
      : Buffer.alloc(0);
  return { statusCode, headers, body };
}
