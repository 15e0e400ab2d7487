import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiEvent, lambdaContext } from '../../dev/fixtures/api-event';
import { apiHandler } from '../../shared/http/api-handler';
import { ServiceUnavailableError } from '../../shared/http/errors';

const schema = z.object({ productId: z.string().min(1), quantity: z.number().int().positive() });
const echo = apiHandler({ auth: 'user', body: schema }, async ({ body, userId }) => ({ userId, ...body }));

async function call(handler: typeof echo, event = apiEvent()) {
  const result = await handler(event, lambdaContext());
  return { ...result, json: JSON.parse(result.body ?? 'null') };
}

describe('apiHandler', () => {
  it('parses and validates the JSON body and passes the caller id', async () => {
    const res = await call(
      echo,
      apiEvent({ body: JSON.stringify({ productId: 'p1', quantity: 2 }), sub: 'bob' }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json).toEqual({ userId: 'bob', productId: 'p1', quantity: 2 });
  });

  it('decodes base64 bodies as API Gateway sends them', async () => {
    const res = await call(
      echo,
      apiEvent({ body: JSON.stringify({ productId: 'p1', quantity: 1 }), base64: true }),
    );
    expect(res.statusCode).toBe(200);
  });

  it('answers 400 naming each invalid field', async () => {
    const res = await call(echo, apiEvent({ body: JSON.stringify({ productId: '', quantity: 'x' }) }));
    expect(res.statusCode).toBe(400);
    expect(res.json.error).toBe('INVALID_REQUEST');
    expect(res.json.issues.map((i: { path: string }) => i.path).sort()).toEqual(['productId', 'quantity']);
    expect(res.json.message).toContain('productId');
  });

  it('answers 400 for invalid JSON and for a missing body', async () => {
    expect((await call(echo, apiEvent({ body: '{"productId":' }))).json.message).toMatch(/not valid JSON/);
    expect((await call(echo, apiEvent())).json.message).toMatch(/required/);
  });

  it('answers 415 for a non-JSON content type and 413 for an oversized body', async () => {
    const form = await call(echo, apiEvent({ body: 'a=b', headers: { 'content-type': 'text/plain' } }));
    expect(form.statusCode).toBe(415);
    expect(form.json.message).toContain('text/plain');
    const big = await call(
      echo,
      apiEvent({ body: JSON.stringify({ productId: 'x'.repeat(300_000), quantity: 1 }) }),
    );
    expect(big.statusCode).toBe(413);
  });

  it('answers 401 when a user route has no subject claim', async () => {
    const res = await call(
      echo,
      apiEvent({ body: JSON.stringify({ productId: 'p', quantity: 1 }), sub: null }),
    );
    expect(res.statusCode).toBe(401);
  });

  it('maps HttpErrors with Retry-After and hides unexpected errors behind the request id', async () => {
    const busy = apiHandler({ auth: 'none' }, async () => {
      throw new ServiceUnavailableError('Attesto is busy', 7);
    });
    const res = await call(busy);
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['retry-after']).toBe('7');

    const broken = apiHandler({ auth: 'none' }, async () => {
      throw new Error('secret detail: attesto_live_abc');
    });
    const err = await call(broken);
    expect(err.statusCode).toBe(500);
    expect(err.json).toEqual({ error: 'INTERNAL_ERROR', message: 'Internal error', requestId: 'req-test-1' });
    expect(err.body).not.toContain('attesto_live_abc');
  });
});
