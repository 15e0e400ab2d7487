// How a failed webhook delivery is retried: exponential backoff per attempt, capped, for at least
// a day before the message moves to the dead-letter queue. Deployed stacks use the defaults; the
// local runtime shortens the delays to seconds so a failed delivery comes back within about 10 s.

export interface RetrySchedule {
  /** Delay after the first failed attempt. */
  baseSeconds: number;
  /** No delay grows past this. */
  maxSeconds: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { baseSeconds: 30, maxSeconds: 3600 };

/** Receivers get at least this long to come back before an event is dead-lettered. */
export const RETRY_HORIZON_SECONDS = 24 * 60 * 60;

/** SQS refuses a visibility timeout above 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/** How long a message stays hidden after its `attempt`-th failed delivery (attempt counts from 1). */
export function retryDelaySeconds(attempt: number, schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const delay = Math.min(schedule.maxSeconds, schedule.baseSeconds * 2 ** exponent);
  return Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(delay)));
}

/**
 * The queue's maxReceiveCount: the fewest attempts whose delays in between add up to the
 * horizon, so a receiver that is down for a whole day still gets every event.
 */
export function attemptsToCover(
  horizonSeconds: number = RETRY_HORIZON_SECONDS,
  schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE,
): number {
  let attempts = 1;
  let covered = 0;
  while (covered < horizonSeconds) {
    covered += retryDelaySeconds(attempts, schedule);
    attempts += 1;
    if (attempts > 1000) throw new Error('retry schedule never reaches the horizon');
  }
  return attempts;
}
