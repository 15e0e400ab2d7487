import { grantBodySchema, grantEntitlement } from '../../shared/admin/grants';
import type { GrantResponse } from '../../shared/admin/response-schemas';
import { apiHandler } from '../../shared/http/api-handler';
import { logger } from '../../shared/observability/logger';

export const handler = apiHandler(
  { auth: 'operator', body: grantBodySchema },
  async ({ body, operator }): Promise<GrantResponse> => {
    // Who granted what key, never to whom: the user id is personal data.
    logger.info('operator grant', { operator, key: body.key });
    return grantEntitlement(body, operator, new Date());
  },
);
