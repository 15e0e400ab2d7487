import { apiHandler } from '../../shared/http/api-handler';
import { requestStartedAt } from '../../shared/purchases/deadlines';
import { restoreBodySchema } from '../../shared/purchases/request-schemas';
import type { RestoreResponse } from '../../shared/purchases/response-schemas';
import { restorePurchases } from '../../shared/purchases/restore';

export const handler = apiHandler(
  { auth: 'user', body: restoreBodySchema },
  async ({ body, userId, event }): Promise<RestoreResponse> => {
    const startedAt = requestStartedAt(event.requestContext.timeEpoch);
    const { valid, entitlements } = await restorePurchases(userId, body.transactions, { startedAt });
    return { valid, entitlements };
  },
);
