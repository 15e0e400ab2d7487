import { storeReads } from '../../shared/admin/find-customer';
import type { TransferResponse } from '../../shared/admin/response-schemas';
import { transferBodySchema, transferByReference } from '../../shared/admin/transfer';
import { apiHandler } from '../../shared/http/api-handler';

export const handler = apiHandler(
  { auth: 'operator', body: transferBodySchema },
  async ({ body, operator }): Promise<TransferResponse> =>
    transferByReference(body, operator, storeReads, new Date()),
);
