import { apiHandler } from '../../shared/http/api-handler';
import { attestoDeadline } from '../../shared/purchases/deadlines';
import { googleVerifyBodySchema } from '../../shared/purchases/request-schemas';
import type { VerifyResponse } from '../../shared/purchases/response-schemas';
import { verifyGooglePurchase } from '../../shared/purchases/verify-google';

export const handler = apiHandler(
  { auth: 'user', body: googleVerifyBodySchema },
  async ({ body, userId, context }): Promise<VerifyResponse> =>
    verifyGooglePurchase(userId, body, { deadline: attestoDeadline(context) }),
);
