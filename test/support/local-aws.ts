import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { type LocalResources, provisionLocal } from '../../dev/local/provision';
import { resetConfigCache } from '../../shared/config';

/**
 * Creates this test file's own tables and queues (random prefix) in the shared emulators and
 * points process.env at them, so handlers imported afterwards talk to them unmodified.
 */
export async function useLocalAws(): Promise<LocalResources> {
  const resources = await provisionLocal({
    ddbEndpoint: inject('ddbEndpoint'),
    sqsEndpoint: inject('sqsEndpoint'),
    prefix: `t${randomUUID().slice(0, 8)}-`,
  });
  Object.assign(process.env, resources.env);
  resetConfigCache();
  return resources;
}
