import type { ErasureResponse } from '../../shared/admin/response-schemas';
import { eraseBodySchema, eraseUser } from '../../shared/admin/user-data';
import { apiHandler } from '../../shared/http/api-handler';
import { logger } from '../../shared/observability/logger';

export const handler = apiHandler(
  { auth: 'operator', body: eraseBodySchema },
  async ({ body, operator }): Promise<ErasureResponse> => {
    const answer = await eraseUser(body, operator, new Date());
    // Who erased and how much, never whom (the audit record in history says the same).
    logger.info('operator erasure', { operator, erased: answer.erased, counts: answer.counts });
    return answer;
  },
);
