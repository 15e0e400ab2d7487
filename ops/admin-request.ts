// Calls to the operator API (/admin/), signed with SigV4 for execute-api as API Gateway's IAM
// authorizer expects: with the caller's AWS credentials against a deployed stack, with the local
// runtime's own admin credential against `npm start`.
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export interface AdminTarget {
  /** The API's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/ or http://127.0.0.1:3000 */
  baseUrl: string;
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** For messages: where the target came from. */
  source: string;
}

export interface AdminResponse {
  status: number;
  body: unknown;
}

/** The signed headers for one request; exported so tests can alter a correctly signed request. */
export async function signAdminRequest(
  target: AdminTarget,
  request: { method: 'GET' | 'POST'; path: string; query?: Record<string, string>; body?: string },
  signingDate = new Date(),
): Promise<{ url: string; headers: Record<string, string> }> {
  const base = new URL(target.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const path = `${prefix}${request.path}`;
  const headers: Record<string, string> = { host: base.host };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const signer = new SignatureV4({
    credentials: target.credentials,
    region: target.region,
    service: 'execute-api',
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      path,
      query: request.query ?? {},
      headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
    },
    { signingDate },
  );
  // Encoded as SigV4 canonicalises it, so the server reads back exactly what was signed.
  const query = Object.entries(request.query ?? {})
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .join('&');
  const url = `${base.origin}${path}${query ? `?${query}` : ''}`;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) if (name !== 'host') out[name] = String(value);
  return { url, headers: out };
}

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export async function callAdmin(
  target: AdminTarget,
  request: { method: 'GET' | 'POST'; path: string; query?: Record<string, string>; body?: string },
  fetchImpl: typeof fetch = fetch,
): Promise<AdminResponse> {
  const { url, headers } = await signAdminRequest(target, request);
  const res = await fetchImpl(url, {
    method: request.method,
    headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: res.status, body };
}
