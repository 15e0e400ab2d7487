// POST verify/apple: the caller's Attesto call counted (one conditional update), one Attesto call,
// then at most two sequential DynamoDB round trips (the transactional write with the byUser query
// beside it, then the consistent re-read).

import { countVerification } from '../observability/metrics';
import { attestoFor } from './attesto-call-limit';
import { defaultDeps, type PurchaseDeps } from './dependencies';
import type { AppleVerifyInput } from './request-schemas';
import { answerVerify, bindingResolver, prepareApple, type VerifyAnswer } from './verification';

export async function verifyApplePurchase(
  userId: string,
  input: AppleVerifyInput,
  options: { deadline?: number } = {},
  deps: PurchaseDeps = defaultDeps(),
): Promise<VerifyAnswer> {
  const binding = bindingResolver(userId, deps);
  const result = await attestoFor(userId, deps).verifyApple(
    { transactionId: input.transactionId },
    options.deadline === undefined ? {} : { deadline: options.deadline },
  );
  const prepared = prepareApple(result, { productId: input.productId }, deps);
  const answer = await answerVerify(prepared, userId, binding, deps);
  countVerification('apple', answer);
  return answer;
}
