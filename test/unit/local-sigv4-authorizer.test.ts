import { describe, expect, it } from 'vitest';
import { createSigV4Authorizer, generateOperatorCredentials } from '../../dev/local/sigv4-authorizer';
import { type AdminTarget, signAdminRequest } from '../../ops/admin-request';

// The local runtime's check of /admin/ requests, on requests signed by the CLI's own signer, at a
// fixed clock: what passes, and each reason a request is refused.

const NOW = Date.UTC(2026, 11, 1, 20, 0, 0);
const credentials = generateOperatorCredentials();
const target: AdminTarget = {
  baseUrl: 'http://127.0.0.1:3000',
  region: 'us-east-1',
  credentials,
  source: 'test',
};

async function signed(overrides: Partial<AdminTarget> = {}, at = new Date(NOW), body?: string) {
  const { url, headers } = await signAdminRequest(
    { ...target, ...overrides },
    {
      method: 'GET',
      path: '/admin/customer',
      query: { ref: 'alice@example.org' },
      ...(body ? { body } : {}),
    },
    at,
  );
  const u = new URL(url);
  return {
    method: 'GET',
    url: `${u.pathname}${u.search}`,
    headers: { ...headers, host: u.host },
    body: Buffer.from(body ?? ''),
  };
}

function authorizer() {
  const reasons: string[] = [];
  const check = createSigV4Authorizer({
    credentials,
    region: 'us-east-1',
    now: () => NOW,
    onReject: (r) => reasons.push(r),
  });
  return { check, reasons };
}

describe('local SigV4 check of /admin/', () => {
  it('passes a request signed with the credential, naming the caller as API Gateway does', async () => {
    const { check } = authorizer();
    expect(await check(await signed())).toEqual(
      expect.objectContaining({
        accessKey: credentials.accessKeyId,
        userArn: 'arn:aws:iam::000000000000:user/local-operator',
      }),
    );
  });

  it('accepts a clock 4 minutes off either way and refuses 6 minutes off either way', async () => {
    const { check } = authorizer();
    for (const minutes of [-4, 4])
      expect(await check(await signed({}, new Date(NOW + minutes * 60_000)))).toBeDefined();
    for (const minutes of [-6, 6])
      expect(await check(await signed({}, new Date(NOW + minutes * 60_000)))).toBeUndefined();
  });

  it('refuses a signature for another region, and says why', async () => {
    const { check, reasons } = authorizer();
    expect(await check(await signed({ region: 'eu-west-1' }))).toBeUndefined();
    expect(reasons).toEqual(['signed for execute-api in eu-west-1, expected execute-api in us-east-1']);
  });

  it('refuses a session token the local credential never has', async () => {
    const { check, reasons } = authorizer();
    const withToken = await signed({ credentials: { ...credentials, sessionToken: 'token' } });
    expect(await check(withToken)).toBeUndefined();
    expect(reasons[0]).toContain('session token');
  });

  it('refuses a changed header that was signed, and a changed method', async () => {
    const { check } = authorizer();
    const request = await signed({}, new Date(NOW), '{"a":1}');
    expect(await check(request)).toBeDefined();
    expect(
      await check({ ...request, headers: { ...request.headers, 'content-type': 'text/plain' } }),
    ).toBeUndefined();
    expect(await check({ ...request, method: 'POST' })).toBeUndefined();
  });

  it('refuses a malformed Authorization header without throwing', async () => {
    const { check, reasons } = authorizer();
    const request = await signed();
    expect(
      await check({ ...request, headers: { ...request.headers, authorization: 'Bearer abc' } }),
    ).toBeUndefined();
    expect(reasons).toEqual(['the Authorization header is not an AWS4-HMAC-SHA256 signature']);
  });
});
