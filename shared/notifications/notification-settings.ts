// The environment of the two store endpoints (set by infra/stack.ts from the stage config). A
// missing or malformed setting fails the request with a 500 and a log line naming the variable,
// never with a 401: a configuration mistake must not look like a forged notification.
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, nonEmpty, readConfig } from '../config';
import type { AppleEnvironment, AppleNotificationConfig } from './apple-notification-verifier';
import type { PubSubPushAuthConfig } from './pubsub-push-auth';

const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => (v === undefined ? fallback : v === 'true'));

const appleSchema = z.object({
  APPLE_BUNDLE_ID: nonEmpty,
  /** Comma-separated base64 DER certificates: Apple Root CA - G3 (and G2 if wanted). */
  APPLE_ROOT_CERTIFICATES: nonEmpty,
  /** Comma-separated: Production, Sandbox or both. */
  APPLE_ENVIRONMENTS: nonEmpty.default('Production'),
  APPLE_APP_APPLE_ID: z
    .string()
    .regex(/^\d+$/, 'must be the numeric Apple ID of the app')
    .transform(Number)
    .optional(),
  /** OCSP revocation and clock-based certificate dates; off only in tests. */
  APPLE_ONLINE_CHECKS: flag(true),
});

const googleSchema = z.object({
  GOOGLE_PACKAGE_NAME: nonEmpty,
  /** The Audience of the authenticated push subscription (normally the endpoint URL). */
  GOOGLE_PUSH_AUDIENCE: nonEmpty,
  /** The service account the push subscription signs its tokens as. */
  GOOGLE_PUSH_SERVICE_ACCOUNT: z.email(),
  /** Google's key set; another URL only for tests and the local runtime. */
  GOOGLE_JWKS_URL: z.url().optional(),
});

const ENVIRONMENTS: readonly AppleEnvironment[] = ['Production', 'Sandbox'];

let appleCache: { key: string; config: AppleNotificationConfig } | undefined;

export function appleNotificationSettings(env: NodeJS.ProcessEnv = process.env): AppleNotificationConfig {
  const parsed = readConfig(appleSchema, env);
  const key = JSON.stringify(parsed);
  if (appleCache?.key === key) return appleCache.config;

  const environments = parsed.APPLE_ENVIRONMENTS.split(',').map((e) => e.trim());
  for (const e of environments) {
    if (!ENVIRONMENTS.includes(e as AppleEnvironment)) {
      throw new ConfigError(`Invalid configuration: APPLE_ENVIRONMENTS: ${e} is not Production or Sandbox`);
    }
  }
  if (environments.includes('Production') && parsed.APPLE_APP_APPLE_ID === undefined) {
    throw new ConfigError(
      'Invalid configuration: APPLE_APP_APPLE_ID is required when APPLE_ENVIRONMENTS accepts Production',
    );
  }
  const rootCertificates = parsed.APPLE_ROOT_CERTIFICATES.split(',').map((value, i) => {
    const der = Buffer.from(value.replace(/\s+/g, ''), 'base64');
    try {
      const certificate = new X509Certificate(der);
      if (!certificate.ca) throw new Error('not a CA certificate');
    } catch (error) {
      throw new ConfigError(
        `Invalid configuration: APPLE_ROOT_CERTIFICATES entry ${i + 1} is not a base64 DER CA certificate (${(error as Error).message})`,
      );
    }
    return der;
  });
  const config: AppleNotificationConfig = {
    rootCertificates,
    bundleId: parsed.APPLE_BUNDLE_ID,
    environment: environments as AppleEnvironment[],
    enableOnlineChecks: parsed.APPLE_ONLINE_CHECKS,
    ...(parsed.APPLE_APP_APPLE_ID !== undefined ? { appAppleId: parsed.APPLE_APP_APPLE_ID } : {}),
  };
  appleCache = { key, config };
  return config;
}

export interface GoogleNotificationSettings {
  packageName: string;
  auth: Pick<PubSubPushAuthConfig, 'audience' | 'serviceAccountEmail' | 'jwksUrl'>;
}

export function googleNotificationSettings(env: NodeJS.ProcessEnv = process.env): GoogleNotificationSettings {
  const parsed = readConfig(googleSchema, env);
  return {
    packageName: parsed.GOOGLE_PACKAGE_NAME,
    auth: {
      audience: parsed.GOOGLE_PUSH_AUDIENCE,
      serviceAccountEmail: parsed.GOOGLE_PUSH_SERVICE_ACCOUNT,
      ...(parsed.GOOGLE_JWKS_URL ? { jwksUrl: parsed.GOOGLE_JWKS_URL } : {}),
    },
  };
}
