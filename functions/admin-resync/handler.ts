import { storeReads } from '../../shared/admin/find-customer';
import type { ResyncResponse } from '../../shared/admin/response-schemas';
import { resyncBodySchema, resyncByReference } from '../../shared/admin/resync';
import { attestoClientFromEnv } from '../../shared/attesto/client';
import { apiHandler } from '../../shared/http/api-handler';
import { attestoDeadline } from '../../shared/purchases/deadlines';
import { settings } from '../../shared/settings';

export const handler = apiHandler(
  { auth: 'operator', body: resyncBodySchema },
  async ({ body, operator, context }): Promise<ResyncResponse> =>
    resyncByReference(body, operator, {
      reads: storeReads,
      attesto: attestoClientFromEnv,
      googlePackageName: () => settings().googlePackageName,
      callOptions: { deadline: attestoDeadline(context) },
      now: Date.now,
    }),
);
