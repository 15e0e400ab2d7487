import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, exportJWK, generateKeyPair, type JWTVerifyGetKey, SignJWT } from 'jose';

// Stands in for Google's OIDC signer: an RS256 key whose public half is served as a JWKS on
// 127.0.0.1, and a signer for Pub/Sub-style push tokens. `respondWith` makes the key set endpoint
// fail, to exercise the retryable path.

export const TEST_AUDIENCE = 'https://iap.example.test/webhooks/google';
export const TEST_PUSH_SERVICE_ACCOUNT = 'pubsub-push@example-project.iam.gserviceaccount.com';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface GoogleTestOidc {
  jwksUrl: string;
  /** A fresh remote key set on the local JWKS (no cache shared between tests). */
  jwks(): JWTVerifyGetKey;
  /** A push token; `claims` override Google's, `null` removes a claim. */
  token(
    claims?: Record<string, unknown>,
    options?: { key?: SigningKey; kid?: string; alg?: string },
  ): Promise<string>;
  /** A key Google does not publish: tokens signed with it are forgeries. */
  foreignKey: SigningKey;
  kid: string;
  /** What the JWKS endpoint answers: 'ok', an HTTP status, or 'not-json'. */
  respondWith(mode: 'ok' | 'not-json' | number): void;
  stop(): Promise<void>;
}

export async function startGoogleTestOidc(): Promise<GoogleTestOidc> {
  const [{ privateKey, publicKey }, foreign] = await Promise.all([
    generateKeyPair('RS256'),
    generateKeyPair('RS256'),
  ]);
  const kid = 'test-key-1';
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let mode: 'ok' | 'not-json' | number = 'ok';

  const server: Server = createServer((_req, res) => {
    if (mode === 'ok') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else if (mode === 'not-json') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>captive portal</html>');
    } else {
      res.writeHead(mode).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const jwksUrl = `http://127.0.0.1:${port}/oauth2/v3/certs`;

  return {
    jwksUrl,
    jwks: () => createRemoteJWKSet(new URL(jwksUrl)),
    foreignKey: foreign.privateKey,
    kid,
    respondWith: (next) => {
      mode = next;
    },
    async token(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const all: Record<string, unknown> = {
        iss: 'https://accounts.google.com',
        aud: TEST_AUDIENCE,
        azp: '113774264463038321964',
        sub: '113774264463038321964',
        email: TEST_PUSH_SERVICE_ACCOUNT,
        email_verified: true,
        iat: now,
        exp: now + 3600,
        ...claims,
      };
      for (const [name, value] of Object.entries(all)) if (value === null) delete all[name];
      return new SignJWT(all)
        .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? kid, typ: 'JWT' })
        .sign(options.key ?? privateKey);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A Pub/Sub push body carrying `notification` as Google Play sends RTDN. */
export function pubSubPushBody(
  notification: unknown,
  message: { messageId?: string; publishTime?: string } = {},
): {
  message: { data: string; messageId: string; message_id: string; publishTime: string };
  subscription: string;
} {
  const messageId = message.messageId ?? '2070443601311540';
  const publishTime = message.publishTime ?? '2026-11-21T10:00:00.123Z';
  return {
    message: {
      data: Buffer.from(JSON.stringify(notification)).toString('base64'),
      messageId,
      message_id: messageId,
      publishTime,
    },
    subscription: 'projects/example-project/subscriptions/play-rtdn-push',
  };
}
