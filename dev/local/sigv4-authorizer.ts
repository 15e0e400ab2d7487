// Locally, the /admin/ routes accept exactly one credential: the one this run of the local
// runtime generated at start. A request is let through only if its SigV4 signature is what the
// known secret gives for the same canonical request (recomputed with the AWS SDK's own signer,
// compared in constant time), for this region and execute-api, dated within 5 minutes, over
// exactly the bytes received. Anything else is refused 403, as API Gateway's IAM authorizer does.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { LOCAL_ACCOUNT_ID } from './lambda-context';

export interface OperatorCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What API Gateway puts in `requestContext.authorizer.iam` for a signed request. */
export interface IamIdentity {
  accessKey: string;
  accountId: string;
  callerId: string;
  cognitoIdentity: null;
  principalOrgId: null;
  userArn: string;
  userId: string;
}

export interface SignedRequest {
  method: string;
  /** Path and query exactly as on the request line. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Returns the caller's identity for a correctly signed request, or undefined to answer 403. */
export type OperatorAuthorizer = (req: SignedRequest) => Promise<IamIdentity | undefined>;

/** SigV4's own limit on how far a request's date may be from the server's clock. */
export const MAX_SIGNATURE_AGE_MS = 5 * 60 * 1000;

const LOCAL_OPERATOR = 'local-operator';

/** A fresh pair per run: shaped like an IAM user's key so tools accept it, valid nowhere else. */
export function generateOperatorCredentials(): OperatorCredentials {
  return {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
  };
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function amzDate(value: string | undefined): Date | undefined {
  const m = value ? AMZ_DATE.exec(value) : null;
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function queryOf(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const held = query[key];
    query[key] = held === undefined ? value : [...[held].flat(), value];
  }
  return query;
}

export function createSigV4Authorizer(options: {
  credentials: OperatorCredentials;
  region: string;
  now?: () => number;
  /** Told why a request was refused; the answer stays a bare 403. */
  onReject?: (reason: string) => void;
}): OperatorAuthorizer {
  const now = options.now ?? Date.now;
  const signer = new SignatureV4({
    credentials: options.credentials,
    region: options.region,
    service: 'execute-api',
    sha256: Hash.bind(null, 'sha256'),
    // Verify exactly what the client signed: never add a payload-hash header of our own.
    applyChecksum: false,
  });
  const reject = (reason: string) => {
    options.onReject?.(reason);
    return undefined;
  };

  return async (req) => {
    const authorization = headerValue(req.headers, 'authorization');
    if (!authorization) return reject('no Authorization header (the request is not signed)');
    const parsed = AUTHORIZATION.exec(authorization.trim());
    if (!parsed) return reject('the Authorization header is not an AWS4-HMAC-SHA256 signature');
    const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = parsed as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (accessKeyId !== options.credentials.accessKeyId)
      return reject("the access key is not this local runtime's admin credential");
    if (service !== 'execute-api' || region !== options.region)
      return reject(`signed for ${service} in ${region}, expected execute-api in ${options.region}`);
    const signingDate = amzDate(headerValue(req.headers, 'x-amz-date'));
    if (!signingDate) return reject('no valid X-Amz-Date header');
    if (Math.abs(now() - signingDate.getTime()) > MAX_SIGNATURE_AGE_MS)
      return reject('the signature is dated more than 5 minutes from now');
    if (scopeDate !== signingDate.toISOString().slice(0, 10).replaceAll('-', ''))
      return reject("the credential scope's date is not the request's date");
    if (headerValue(req.headers, 'x-amz-security-token'))
      return reject('a session token was sent, but the local admin credential has none');
    // The signer trusts this header as the body's hash, so it must be the hash of these bytes.
    const declaredHash = headerValue(req.headers, 'x-amz-content-sha256');
    if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(req.body).digest('hex'))
      return reject('the body does not match its signed hash');

    const signedHeaders = signedHeaderList.split(';');
    if (!signedHeaders.includes('host')) return reject('the Host header is not signed');
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = headerValue(req.headers, name);
      if (value === undefined) return reject(`the signed header ${name} is missing`);
      headers[name] = value;
    }
    const queryAt = req.url.indexOf('?');
    const path = queryAt === -1 ? req.url : req.url.slice(0, queryAt);
    const [hostname = '', port] = (headers.host ?? '').split(':');
    const resigned = await signer.sign(
      {
        method: req.method,
        protocol: 'http:',
        hostname,
        ...(port ? { port: Number(port) } : {}),
        path,
        query: queryOf(queryAt === -1 ? '' : req.url.slice(queryAt + 1)),
        headers,
        body: req.body,
      },
      { signingDate, signableHeaders: new Set(signedHeaders) },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization ?? ''))?.[1] ?? '';
    const matches =
      expected.length === signature.length &&
      timingSafeEqual(Buffer.from(expected, 'utf8'), Buffer.from(signature, 'utf8'));
    if (!matches) return reject('the signature does not match (wrong secret, or the request was altered)');
    return {
      accessKey: accessKeyId,
      accountId: LOCAL_ACCOUNT_ID,
      callerId: LOCAL_OPERATOR,
      cognitoIdentity: null,
      principalOrgId: null,
      userArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/${LOCAL_OPERATOR}`,
      userId: LOCAL_OPERATOR,
    };
  };
}
