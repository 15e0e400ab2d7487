// The settings a stage chooses that the functions also read from their environment: one
// definition of each, so the stage configuration (infra/stage/schema.ts, checked at synth)
// and the functions (checked at cold start) accept exactly the same values. Schemas here take
// the typed value; the functions coerce their environment strings into them.
import * as z from './validation';

/** What happens when a second user verifies an unbound purchase another user holds. */
export const OWNERSHIP_POLICIES = ['move', 'keep'] as const;
export const ownershipPolicy = z.enum(OWNERSHIP_POLICIES, { message: 'expected "move" or "keep"' });

/** Days after expiry a purchase in billing retry stays entitled (Google's grace is up to 30, retry up to 60). */
export const billingRetryMaxDays = z.number().check(z.int(), z.gte(0), z.lte(60));

/** Attesto calls one user may cause through verify and restore per window (see docs/configuration.md "Limits"). */
export const attestoCallsPerUser = z.number().check(z.int(), z.gte(1), z.lte(10_000));
export const attestoCallWindowSeconds = z.number().check(z.int(), z.gte(10), z.lte(86_400));

/**
 * Days each history record is kept (DynamoDB TTL); unset keeps history forever. At most 100 years,
 * so a typo of extra digits is caught rather than meaning "forever" by accident.
 */
export const historyRetentionDays = z.number().check(z.int(), z.gte(1), z.lte(36_500));

/** Used by a function whose environment leaves a setting unset (tests, the local runtime). */
export const SETTING_DEFAULTS = {
  ownershipPolicy: 'keep',
  billingRetryMaxDays: 16,
  attestoCallsPerUser: 120,
  attestoCallWindowSeconds: 600,
} as const;

/** Reconciliation (docs/reconciliation.md): Attesto calls one pass may make, and how many at once. */
export const reconcileMaxCalls = z.number().check(z.int(), z.gte(1), z.lte(10_000));
export const reconcileConcurrency = z.number().check(z.int(), z.gte(1), z.lte(32));
/** Seconds after a subscription's stored expiry before it is checked (0 = at once). */
export const reconcileDelaySeconds = z.number().check(z.int(), z.gte(0), z.lte(86_400));
/** Days after expiry a purchase is still checked. */
export const reconcileLookBackDays = z.number().check(z.int(), z.gte(1), z.lte(400));

export const RECONCILE_DEFAULTS = {
  maxCalls: 200,
  concurrency: 4,
  delaySeconds: 600,
  lookBackDays: 60,
} as const;
