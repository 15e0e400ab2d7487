import { apiHandler } from '../../shared/http/api-handler';
import type { EntitlementsResponse } from '../../shared/purchases/response-schemas';
import { userEntitlements } from '../../shared/purchases/user-entitlements';

export const handler = apiHandler(
  { auth: 'user' },
  async ({ userId }): Promise<EntitlementsResponse> => ({
    entitlements: await userEntitlements(userId),
  }),
);
