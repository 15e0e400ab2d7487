import type { Context } from 'aws-lambda';

/** Time kept back after Attesto answers: the DynamoDB write, the read, the response. */
const AFTER_ATTESTO_MS = 1_500;

/** Epoch ms by which Attesto must have answered for the function to still answer in time. */
export function attestoDeadline(
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  now = Date.now(),
): number {
  return now + Math.max(0, context.getRemainingTimeInMillis() - AFTER_ATTESTO_MS);
}

/** A request time further back than this is not a live request's (a replayed or test event). */
const PLAUSIBLE_QUEUE_MS = 10_000;

/**
 * When API Gateway received the request (`requestContext.timeEpoch`), so a deadline counted from
 * it includes a cold start, as the SDK's 10 s timeout does; `now` when that time is implausible.
 */
export function requestStartedAt(timeEpoch: number, now = Date.now()): number {
  return timeEpoch > now - PLAUSIBLE_QUEUE_MS && timeEpoch <= now ? timeEpoch : now;
}
