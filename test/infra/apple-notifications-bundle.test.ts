// The Apple endpoint as CDK bundles it: node-fetch replaced by the shim over Node's fetch
// (infra/bundling/node-fetch-shim.ts). The other tests run the library with the real node-fetch,
// so these run the bundle itself, in a fresh Node process, against a local OCSP responder.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataTables } from '../../infra/constructs/data-tables';
import { ProductFunction } from '../../infra/constructs/function-factory';
import { WebhookPipeline } from '../../infra/constructs/webhook-pipeline';
import { functions } from '../../infra/functions';
import {
  type AppleTestPki,
  appleTestPki,
  generateAppleTestPki,
  signAppleJws,
} from '../support/apple-test-pki';

const BUNDLE_ID = 'com.example.iapdemo';

let outdir: string;
let bundle: string;
let server: Server;
let ocspUrl: string;
let pki: AppleTestPki;
let answer: 'unavailable' | 'truncated' | 'garbage' = 'unavailable';
let ocspRequests: { method?: string; contentType?: string; bytes: number }[] = [];

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'iap-apple-bundle-'));
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'AppleBundle');
  const tables = new DataTables(stack, 'Tables', {
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
  });
  new ProductFunction(stack, {
    def: functions['apple-notifications'],
    resources: { tables: tables.byKey, queue: new WebhookPipeline(stack, 'Pipeline').queue },
    logRetention: RetentionDays.ONE_DAY,
    logRemovalPolicy: RemovalPolicy.DESTROY,
  });
  app.synth();
  const asset = readdirSync(outdir).find((name) => name.startsWith('asset.'));
  bundle = join(outdir, asset ?? '', 'index.mjs');

  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      ocspRequests.push({
        method: req.method,
        contentType: req.headers['content-type'],
        bytes: Buffer.concat(chunks).length,
      });
      if (answer === 'unavailable') res.writeHead(503).end();
      else if (answer === 'garbage') res.writeHead(200).end(Buffer.from('not an OCSP response'));
      else {
        // Promises 1000 bytes, sends 10, hangs up: the body breaks off mid-read.
        res.writeHead(200, { 'content-length': '1000' });
        res.write(Buffer.alloc(10));
        setTimeout(() => res.socket?.destroy(), 20);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ocspUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ocsp`;
  pki = generateAppleTestPki({ ocspUrl });
}, 60_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  rmSync(outdir, { recursive: true, force: true });
});

const CHILD = `
const { handler } = await import(process.env.BUNDLE_URL);
const result = await handler(JSON.parse(process.env.TEST_EVENT));
process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n');
`;

/** Imports the bundle in a fresh Node process with online checks on and posts one notification. */
function post(signedPayload: string): Promise<{ statusCode: number; logs: string }> {
  const event = {
    version: '2.0',
    routeKey: 'POST /webhooks/apple',
    rawPath: '/webhooks/apple',
    headers: { 'content-type': 'application/json' },
    requestContext: { requestId: 'bundle-test', http: { method: 'POST', path: '/webhooks/apple' } },
    body: JSON.stringify({ signedPayload }),
    isBase64Encoded: false,
  };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--enable-source-maps', '--no-warnings', '--input-type=module', '-e', CHILD],
      {
        env: {
          PATH: process.env.PATH ?? '',
          BUNDLE_URL: pathToFileURL(bundle).href,
          TEST_EVENT: JSON.stringify(event),
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          WEBHOOK_QUEUE_URL: 'http://127.0.0.1:9/queue/never-reached',
          APPLE_BUNDLE_ID: BUNDLE_ID,
          APPLE_ROOT_CERTIFICATES: pki.rootDer.toString('base64'),
          APPLE_ENVIRONMENTS: 'Sandbox',
          APPLE_ONLINE_CHECKS: 'true',
        },
        timeout: 20_000,
      },
      (error, stdout, stderr) => {
        const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
        if (!line) {
          reject(new Error(`the bundle did not answer: ${error?.message ?? ''}\n${stdout}\n${stderr}`));
          return;
        }
        resolve({
          statusCode: (JSON.parse(line.slice(7)) as { statusCode: number }).statusCode,
          logs: `${stdout}\n${stderr}`,
        });
      },
    );
  });
}

function notification(signer = pki.signer): string {
  const now = Date.now();
  const transaction = {
    transactionId: '2000000900000001',
    originalTransactionId: '2000000900000000',
    bundleId: BUNDLE_ID,
    productId: 'premium_monthly',
    purchaseDate: now - 60_000,
    originalPurchaseDate: now - 86_400_000,
    expiresDate: now + 30 * 86_400_000,
    quantity: 1,
    type: 'Auto-Renewable Subscription',
    inAppOwnershipType: 'PURCHASED',
    signedDate: now,
    environment: 'Sandbox',
  };
  return signAppleJws(
    {
      notificationType: 'DID_RENEW',
      notificationUUID: `bundle-${now}`,
      version: '2.0',
      signedDate: now,
      data: {
        bundleId: BUNDLE_ID,
        environment: 'Sandbox',
        status: 1,
        signedTransactionInfo: signAppleJws(transaction, signer),
      },
    },
    signer,
  );
}

describe('apple-notifications bundle (real esbuild, node-fetch shim)', () => {
  it('carries the shim, not node-fetch and its URL parser', () => {
    const sources = (JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[] }).sources;
    expect(sources.some((s) => s.endsWith('infra/bundling/node-fetch-shim.ts'))).toBe(true);
    expect(sources.filter((s) => /node_modules\/(node-fetch|whatwg-url|tr46)\//.test(s))).toEqual([]);
  });

  it('asks the OCSP responder with a POST of an OCSP request; a 5xx answer is a 503', async () => {
    answer = 'unavailable';
    ocspRequests = [];
    const { statusCode } = await post(notification());
    expect(statusCode).toBe(503);
    expect(ocspRequests.length).toBeGreaterThan(0);
    for (const r of ocspRequests) {
      expect(r).toMatchObject({ method: 'POST', contentType: 'application/ocsp-request' });
      expect(r.bytes).toBeGreaterThan(0);
    }
  }, 30_000);

  it('an answer cut off mid-body is a 503 (retryable), not a 401', async () => {
    answer = 'truncated';
    const { statusCode, logs } = await post(notification());
    expect(statusCode).toBe(503);
    expect(logs).toContain('FetchError');
  }, 30_000);

  it('a complete answer that is not an OCSP response is a 401: the body reached the verifier', async () => {
    answer = 'garbage';
    const { statusCode } = await post(notification());
    expect(statusCode).toBe(401);
  }, 30_000);

  it('a chain under another root is a 401 before any OCSP request', async () => {
    answer = 'unavailable';
    ocspRequests = [];
    const { statusCode } = await post(notification(appleTestPki().foreignSigner));
    expect(statusCode).toBe(401);
    expect(ocspRequests).toEqual([]);
  }, 30_000);
});
