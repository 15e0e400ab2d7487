import type { ExportResponse } from '../../shared/admin/response-schemas';
import { exportUser, MAX_USER_ID_LENGTH } from '../../shared/admin/user-data';
import { apiHandler } from '../../shared/http/api-handler';
import { InvalidRequestError } from '../../shared/http/errors';
import { logger } from '../../shared/observability/logger';

export const handler = apiHandler(
  { auth: 'operator' },
  async ({ event, operator }): Promise<ExportResponse> => {
    const userId = event.queryStringParameters?.userId?.trim() ?? '';
    if (!userId || userId.length > MAX_USER_ID_LENGTH) {
      const problem = userId ? `at most ${MAX_USER_ID_LENGTH} characters` : 'Required';
      throw new InvalidRequestError(`Query parameter "userId" is required: the app user id (${problem})`, [
        { path: 'userId', message: problem },
      ]);
    }
    // Who exported, never whom: the user id is personal data.
    logger.info('operator export', { operator });
    return exportUser(userId, new Date());
  },
);
