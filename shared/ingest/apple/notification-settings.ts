// The environment of the Apple endpoint (set by infra/stack.ts from the stage config). A
// missing or malformed setting fails the request with a 500 and a log line naming the variable,
// never with a 401: a configuration mistake must not look like a forged notification.
import { X509Certificate } from 'node:crypto';
import type { AppleEnvironment, AppleNotificationConfig } from './notification-verifier';

// Parsed by hand, not with zod (nor shared/config.ts, which builds zod schemas on load): the
// Apple function's bundle carries Apple's verifier and its OCSP client already, and zod alone
// would add a third again.

/** A missing or malformed setting, named; the same name as shared/config.ts's error. */
export class AppleSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ENVIRONMENTS: readonly AppleEnvironment[] = ['Production', 'Sandbox'];

const invalid = (message: string) => new AppleSettingsError(`Invalid configuration: ${message}`);

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw invalid(`${name} is not set`);
  return value;
}

let cache: { key: string; config: AppleNotificationConfig } | undefined;

/**
 * APPLE_BUNDLE_ID; APPLE_ROOT_CERTIFICATES (comma-separated base64 DER: Apple Root CA - G3, and
 * G2 if wanted); APPLE_ENVIRONMENTS (Production, Sandbox or both; default Production);
 * APPLE_APP_APPLE_ID (required for Production); APPLE_ONLINE_CHECKS (OCSP and clock-based
 * certificate dates; default true, off only in tests).
 */
export function appleNotificationSettings(env: NodeJS.ProcessEnv = process.env): AppleNotificationConfig {
  const names = [
    'APPLE_BUNDLE_ID',
    'APPLE_ROOT_CERTIFICATES',
    'APPLE_ENVIRONMENTS',
    'APPLE_APP_APPLE_ID',
    'APPLE_ONLINE_CHECKS',
  ] as const;
  const key = JSON.stringify(names.map((n) => env[n] ?? null));
  if (cache?.key === key) return cache.config;

  const bundleId = required(env, 'APPLE_BUNDLE_ID');
  const environments = (env.APPLE_ENVIRONMENTS?.trim() || 'Production').split(',').map((e) => e.trim());
  for (const e of environments) {
    if (!ENVIRONMENTS.includes(e as AppleEnvironment))
      throw invalid(`APPLE_ENVIRONMENTS: ${e} is not Production or Sandbox`);
  }
  const appAppleIdText = env.APPLE_APP_APPLE_ID?.trim();
  if (appAppleIdText && !/^\d+$/.test(appAppleIdText))
    throw invalid('APPLE_APP_APPLE_ID: must be the numeric Apple ID of the app');
  const appAppleId = appAppleIdText ? Number(appAppleIdText) : undefined;
  if (environments.includes('Production') && appAppleId === undefined)
    throw invalid('APPLE_APP_APPLE_ID is required when APPLE_ENVIRONMENTS accepts Production');
  const online = env.APPLE_ONLINE_CHECKS?.trim() || 'true';
  if (online !== 'true' && online !== 'false') throw invalid('APPLE_ONLINE_CHECKS: must be true or false');

  const rootCertificates = required(env, 'APPLE_ROOT_CERTIFICATES')
    .split(',')
    .map((value, i) => {
      const der = Buffer.from(value.replace(/\s+/g, ''), 'base64');
      try {
        if (!new X509Certificate(der).ca) throw new Error('not a CA certificate');
      } catch (error) {
        throw invalid(
          `APPLE_ROOT_CERTIFICATES entry ${i + 1} is not a base64 DER CA certificate (${(error as Error).message})`,
        );
      }
      return der;
    });
  const config: AppleNotificationConfig = {
    rootCertificates,
    bundleId,
    environment: environments as AppleEnvironment[],
    enableOnlineChecks: online === 'true',
    ...(appAppleId !== undefined ? { appAppleId } : {}),
  };
  cache = { key, config };
  return config;
}
