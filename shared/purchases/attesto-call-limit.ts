// Per-user limit on Attesto calls made through verify and restore. Every call spends the app's
// Attesto quota (a per-tenant rate limit shared by all users), so one user — or one stolen
// token — must not be able to spend it for everyone. Each call, a restore's included, takes one
// unit from the user's counter in the rate-limits table before it is made; past the limit the
// request is answered 429 with Retry-After (the SDK retries it, and recovery replays it on a
// later launch, so nothing is lost).
import type { AttestoClient } from '../attesto/client';
import { numberSetting, readConfig, unlessBlank } from '../config';
import { HttpError } from '../http/errors';
import { logger } from '../observability/logger';
import { attestoCallsPerUser, attestoCallWindowSeconds, SETTING_DEFAULTS } from '../setting-definitions';
import { takeFromWindow } from '../store/rate-limits';
import * as z from '../validation';
import type { PurchaseDeps } from './dependencies';

const count = (schema: z.ZodMiniType<number, number>, fallback: number) =>
  unlessBlank(z._default(numberSetting(schema), fallback));

// Defaults: room for recovery's 50 replays plus a 20-call restore, with retries.
const limitSchema = z.object({
  ATTESTO_CALLS_PER_USER: count(attestoCallsPerUser, SETTING_DEFAULTS.attestoCallsPerUser),
  ATTESTO_CALL_WINDOW_SECONDS: count(attestoCallWindowSeconds, SETTING_DEFAULTS.attestoCallWindowSeconds),
});

export interface AttestoCallLimit {
  calls: number;
  windowSeconds: number;
}

export function attestoCallLimit(env: NodeJS.ProcessEnv = process.env): AttestoCallLimit {
  const config = readConfig(limitSchema, env);
  return { calls: config.ATTESTO_CALLS_PER_USER, windowSeconds: config.ATTESTO_CALL_WINDOW_SECONDS };
}

/** 429: the user has made their Attesto calls for this window. */
export class AttestoCallLimitError extends HttpError {
  constructor(retryAfterSeconds: number) {
    super(429, 'RATE_LIMITED', 'Too many purchase verifications; retry later', { retryAfterSeconds });
  }
}

/** Takes one of the user's Attesto calls for this window, or throws AttestoCallLimitError. */
export async function takeAttestoCall(
  userId: string,
  now: () => number,
  limit: AttestoCallLimit = attestoCallLimit(),
): Promise<void> {
  const taken = await takeFromWindow({
    key: `attesto-calls#${userId}`,
    limit: limit.calls,
    windowSeconds: limit.windowSeconds,
    nowMs: now(),
  });
  if (!taken.admitted) {
    logger.warn('Attesto call limit reached', { limit: limit.calls, windowSeconds: limit.windowSeconds });
    throw new AttestoCallLimitError(taken.retryAfterSeconds);
  }
}

/** The Attesto client of `deps`, with every call first counted against `userId`'s limit. */
export function attestoFor(userId: string, deps: Pick<PurchaseDeps, 'attesto' | 'now'>): AttestoClient {
  const client = deps.attesto();
  return {
    async verifyApple(request, options) {
      await takeAttestoCall(userId, deps.now);
      return client.verifyApple(request, options);
    },
    async verifyGoogle(request, options) {
      await takeAttestoCall(userId, deps.now);
      return client.verifyGoogle(request, options);
    },
  };
}
