// The policies an operator chooses per stage (architecture §7), read from the environment once per cold
// start through readConfig. Blank values count as unset so a template can leave them empty.
import { numberSetting, readConfig, requiredSetting, unlessBlank } from './config';
import type { EntitlementPolicy } from './domain/entitlements';
import type { OwnershipPolicy } from './domain/ownership';
import { billingRetryMaxDays, ownershipPolicy, SETTING_DEFAULTS } from './setting-definitions';
import * as z from './validation';

const flag = (fallback: boolean) =>
  unlessBlank(
    z.pipe(
      z._default(
        z.enum(['true', 'false'], { message: 'expected "true" or "false"' }),
        fallback ? 'true' : 'false',
      ),
      z.transform((v: 'true' | 'false') => v === 'true'),
    ),
  );

const settingsSchema = z.object({
  OWNERSHIP_POLICY: unlessBlank(z._default(ownershipPolicy, SETTING_DEFAULTS.ownershipPolicy)),
  ALLOW_SANDBOX_PURCHASES: flag(true),
  BILLING_RETRY_ENTITLED: flag(true),
  BILLING_RETRY_MAX_DAYS: unlessBlank(
    z._default(numberSetting(billingRetryMaxDays), SETTING_DEFAULTS.billingRetryMaxDays),
  ),
  GOOGLE_PACKAGE_NAME: unlessBlank(z.optional(requiredSetting)),
  APPLE_BUNDLE_ID: unlessBlank(z.optional(requiredSetting)),
});

export interface Settings {
  /**
   * An unbound purchase (the store names no user) that one user holds, verified by another:
   * `keep` (default) leaves it with the first user and answers the second `valid:false`
   * ALREADY_OWNED; `move` hands it to the second user and logs the move. A purchase the store
   * binds to a user always goes to that user, whatever the policy (domain/ownership.ts).
   */
  ownershipPolicy: OwnershipPolicy;
  /**
   * Includes whether sandbox purchases count. They do by default: App Review buys with sandbox
   * accounts against the production build. A stage may refuse them: verify and restore answer
   * valid:false SANDBOX_NOT_ALLOWED, and a sandbox purchase that arrives by webhook is recorded
   * but grants nothing.
   */
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
    entitlementPolicy: {
      billingRetryEntitled: config.BILLING_RETRY_ENTITLED,
      billingRetryMaxDays: config.BILLING_RETRY_MAX_DAYS,
      allowSandboxPurchases: config.ALLOW_SANDBOX_PURCHASES,
    },
    googlePackageName: config.GOOGLE_PACKAGE_NAME,
    appleBundleId: config.APPLE_BUNDLE_ID,
  };
}
