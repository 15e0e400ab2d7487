import { revokeEntitlementGrant, revokeGrantBodySchema } from '../../shared/admin/grants';
import type { RevokeGrantResponse } from '../../shared/admin/response-schemas';
import { apiHandler } from '../../shared/http/api-handler';
import { logger } from '../../shared/observability/logger';

export const handler = apiHandler(
  { auth: 'operator', body: revokeGrantBodySchema },
  async ({ body, operator }): Promise<RevokeGrantResponse> => {
    logger.info('operator grant revocation', { operator, key: body.key });
    return revokeEntitlementGrant(body, operator, new Date());
  },
);
