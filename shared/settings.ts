// The policies an operator chooses per stage (DESIGN §7), read from the environment once per cold
// start through readConfig. Blank values count as unset so a template can leave them empty.
import { z } from 'zod';
import { nonEmpty, readConfig } from './config';
import type { EntitlementPolicy } from './domain/entitlements';
import type { OwnershipPolicy } from './domain/purchase';

const blankAsUnset = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const flag = (fallback: boolean) =>
  z.preprocess(
    blankAsUnset,
    z
      .enum(['true', 'false'], { message: 'expected "true" or "false"' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true'),
  );

const settingsSchema = z.object({
  OWNERSHIP_POLICY: z.preprocess(
    blankAsUnset,
    z.enum(['move', 'keep'], { message: 'expected "move" or "keep"' }).default('move'),
  ),
  ALLOW_SANDBOX_PURCHASES: flag(true),
  BILLING_RETRY_ENTITLED: flag(true),
  BILLING_RETRY_MAX_DAYS: z.preprocess(blankAsUnset, z.coerce.number().int().min(0).max(365).default(16)),
  GOOGLE_PACKAGE_NAME: z.preprocess(blankAsUnset, nonEmpty.optional()),
  APPLE_BUNDLE_ID: z.preprocess(blankAsUnset, nonEmpty.optional()),
});

export interface Settings {
  /**
   * A purchase verified by a second user: `move` (default) hands it to that user, the way a
   * restore on a new account is expected to work; `keep` leaves it with the first user and the
   * second user's verify answers `valid:false` ALREADY_OWNED.
   */
  ownershipPolicy: OwnershipPolicy;
  /**
   * Sandbox purchases are accepted by default: App Review buys with sandbox accounts against
   * the production build. A stage may refuse them (valid:false SANDBOX_NOT_ALLOWED).
   */
  allowSandboxPurchases: boolean;
  entitlementPolicy: EntitlementPolicy;
  /** The app's Play package; a verify naming another package is refused without asking Attesto. */
  googlePackageName: string | undefined;
  /** The app's bundle id; a transaction of another bundle is refused. Attesto checks it too. */
  appleBundleId: string | undefined;
}

export function settings(env: NodeJS.ProcessEnv = process.env): Settings {
  const config = readConfig(settingsSchema, env);
  return {
    ownershipPolicy: config.OWNERSHIP_POLICY,
    allowSandboxPurchases: config.ALLOW_SANDBOX_PURCHASES,
    entitlementPolicy: {
      billingRetryEntitled: config.BILLING_RETRY_ENTITLED,
      billingRetryMaxDays: config.BILLING_RETRY_MAX_DAYS,
    },
    googlePackageName: config.GOOGLE_PACKAGE_NAME,
    appleBundleId: config.APPLE_BUNDLE_ID,
  };
}
