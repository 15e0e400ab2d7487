import { MAX_REFERENCE_LENGTH } from '../../shared/admin/customer-reference';
import { findCustomer, storeReads } from '../../shared/admin/find-customer';
import type { CustomerResponse } from '../../shared/admin/response-schemas';
import { apiHandler } from '../../shared/http/api-handler';
import { InvalidRequestError } from '../../shared/http/errors';
import { logger } from '../../shared/observability/logger';
import { settings } from '../../shared/settings';

export const handler = apiHandler(
  { auth: 'operator' },
  async ({ event, operator }): Promise<CustomerResponse> => {
    const ref = event.queryStringParameters?.ref?.trim() ?? '';
    if (!ref || ref.length > MAX_REFERENCE_LENGTH) {
      const problem = ref ? `at most ${MAX_REFERENCE_LENGTH} characters` : 'Required';
      throw new InvalidRequestError(
        `Query parameter "ref" is required: a user id, uuid, transaction id, purchase token or order id (${problem})`,
        [{ path: 'ref', message: problem }],
      );
    }
    // Who looked, never what they looked up: references can be personal data or purchase tokens.
    logger.info('operator customer lookup', { operator });
    return findCustomer(ref, {
      reads: storeReads,
      now: Date.now,
      policy: () => settings().entitlementPolicy,
    });
  },
);
