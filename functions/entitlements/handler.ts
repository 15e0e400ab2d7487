import { apiHandler } from '../../shared/http/api-handler';
import { userEntitlements } from '../../shared/purchases/user-entitlements';

export const handler = apiHandler({ auth: 'user' }, async ({ userId }) => ({
  entitlements: await userEntitlements(userId),
}));
