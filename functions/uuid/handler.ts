import { randomUUID } from 'node:crypto';
import { apiHandler } from '../../shared/http/api-handler';
import type { UuidResponse } from '../../shared/purchases/response-schemas';
import { getOrMintUuid } from '../../shared/store/user-ids';

// POST (the recipes) and GET (the getting-started guide); no body is read either way.
export const handler = apiHandler(
  { auth: 'user' },
  async ({ userId }): Promise<UuidResponse> => ({
    uuid: await getOrMintUuid(userId, randomUUID),
  }),
);
