import { apiHandler } from '../../shared/http/api-handler';
import { restoreBodySchema } from '../../shared/purchases/request-schemas';
import { restorePurchases } from '../../shared/purchases/restore';

/** A request time further back than this is not a live request's (a replayed or test event). */
const PLAUSIBLE_QUEUE_MS = 10_000;

export const handler = apiHandler(
  { auth: 'user', body: restoreBodySchema },
  async ({ body, userId, event }) => {
    // The deadline counts from when API Gateway received the request, so a cold start spends
    // from the same budget the SDK's 10 s timeout does.
    const now = Date.now();
    const received = event.requestContext.timeEpoch;
    const startedAt = received > now - PLAUSIBLE_QUEUE_MS && received <= now ? received : now;
    const { valid, entitlements } = await restorePurchases(userId, body.transactions, { startedAt });
    return { valid, entitlements };
  },
);
