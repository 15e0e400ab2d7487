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
