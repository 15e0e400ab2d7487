import { apiHandler } from '../../shared/http/api-handler';
import { restoreBodySchema } from '../../shared/purchases/request-schemas';
import { restorePurchases } from '../../shared/purchases/restore';

export const handler = apiHandler(
  { auth: 'user', body: restoreBodySchema },
  async ({ body, userId, event }) => {
    // The deadline counts from when API Gateway received the request, cold start included.
    const startedAt = Math.min(Date.now(), event.requestContext.timeEpoch || Date.now());
    const { valid, entitlements } = await restorePurchases(userId, body.transactions, { startedAt });
    return { valid, entitlements };
  },
);
