// The end-to-end tests' check of every answer against docs/openapi.json (test/support/api-contract.ts):
// it must catch a wrong answer, not only pass right ones.
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../infra/openapi/document';
import { ApiContract, contractCheckedFetch } from '../support/api-contract';

const contract = new ApiContract(openApiDocument());

const entitlement = {
  key: 'premium',
  productId: 'premium_monthly',
  expiresAt: '2030-01-01T00:00:00.000Z',
  status: 'active',
  willRenew: true,
  platform: 'apple',
  environment: 'sandbox',
  source: 'purchase',
};

/** A fetch answering every request with `status` and `body`, behind the contract check. */
function checkedFetchAnswering(status: number, body: unknown, onProblem?: (error: Error) => void) {
  const inner = (async () =>
    new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    })) as typeof fetch;
  return contractCheckedFetch(inner, { contract: () => contract, ...(onProblem ? { onProblem } : {}) });
}

describe('the contract check of API answers', () => {
  it('passes an answer the document describes, and hands it back unread', async () => {
    const checked = checkedFetchAnswering(200, { entitlements: [entitlement] });
    const res = await checked('http://127.0.0.1:1/api/iap/entitlements', { method: 'GET' });
    expect(await res.json()).toEqual({ entitlements: [entitlement] });
  });

  it('fails an answer that lacks a required field, naming the operation and the field', async () => {
    const { source: _missing, ...withoutSource } = entitlement;
    const problems: Error[] = [];
    const checked = checkedFetchAnswering(200, { entitlements: [withoutSource] }, (e) => problems.push(e));
    await expect(checked('http://127.0.0.1:1/api/iap/entitlements')).rejects.toThrow(
      /GET \/api\/iap\/entitlements → 200: \/entitlements\/0 must have required property 'source'/,
    );
    expect(problems).toHaveLength(1);
  });

  it('fails a field the document does not have: the answers are exactly what it says', async () => {
    const checked = checkedFetchAnswering(200, {
      uuid: 'a3bb189e-8bf9-4888-9912-ace4e6543002',
      userId: 'alice',
    });
    await expect(checked('http://127.0.0.1:1/api/iap/uuid', { method: 'POST' })).rejects.toThrow(
      /must NOT have additional properties/,
    );
  });

  it('fails a status the operation does not document', async () => {
    const checked = checkedFetchAnswering(404, { error: 'NOT_FOUND', message: 'no such user' });
    await expect(checked('http://127.0.0.1:1/api/iap/entitlements')).rejects.toThrow(
      /GET \/api\/iap\/entitlements → 404: status not documented/,
    );
  });

  it('fails an error answer that is not the error body', async () => {
    const checked = checkedFetchAnswering(400, { problem: 'bad' });
    await expect(
      checked('http://127.0.0.1:1/api/iap/restore', { method: 'POST', body: '{}' }),
    ).rejects.toThrow(/POST \/api\/iap\/restore → 400/);
  });

  it('fails an answer that is not JSON where the document says JSON', async () => {
    const checked = checkedFetchAnswering(200, 'OK');
    await expect(checked('http://127.0.0.1:1/api/iap/products')).rejects.toThrow(/not JSON/);
  });

  it('leaves alone what is not an operation of the API: the sandbox, the dev issuer', async () => {
    const checked = checkedFetchAnswering(418, { anything: true });
    expect((await checked('http://127.0.0.1:1/_sandbox/purchases', { method: 'POST' })).status).toBe(418);
    expect((await checked('http://127.0.0.1:1/_dev/issuer/token', { method: 'POST' })).status).toBe(418);
  });
});
