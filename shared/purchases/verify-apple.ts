// POST verify/apple: the caller's Attesto call counted (one conditional update), one Attesto call,
// then at most two sequential DynamoDB round trips (the transactional write with the byUser query
// beside it, then the consistent re-read).

import { countVerification } from '../observability/metrics';
import { attestoFor } from './attesto-call-limit';
import { defaultDeps, type PurchaseDeps } from './dependencies';
import type { AppleVerifyInput } from './request-schemas';
import { answerVerify, prepareApple, type VerifyAnswer } from './verification';

export async function verifyApplePurchase(
  userId: string,
  input: AppleVerifyInput,
  options: { deadline?: number } = {},
  deps: PurchaseDeps = defaultDeps(),
): Promise<VerifyAnswer> {
  const result = await attestoFor(userId, deps).verifyApple(
    { transactionId: input.transactionId },
    options.deadline === undefined ? {} : { deadline: options.deadline },
  );
  const answer = await answerVerify(prepareApple(result, { productId: input.productId }, deps), userId, deps);
  countVerification('apple', answer);
  return answer;
}
