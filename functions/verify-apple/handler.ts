import { apiHandler } from '../../shared/http/api-handler';
import { attestoDeadline } from '../../shared/purchases/deadlines';
import { appleVerifyBodySchema } from '../../shared/purchases/request-schemas';
import type { VerifyResponse } from '../../shared/purchases/response-schemas';
import { verifyApplePurchase } from '../../shared/purchases/verify-apple';

export const handler = apiHandler(
  { auth: 'user', body: appleVerifyBodySchema },
  async ({ body, userId, context }): Promise<VerifyResponse> =>
    verifyApplePurchase(userId, body, { deadline: attestoDeadline(context) }),
);
