// What the request figures run against: DynamoDB Local and fauxqs started here, the stack's tables
// and queues created from shared/store/tables.ts and infra/resources.ts, the Attesto sandbox on loopback, and the functions'
// environment pointed at them. Nothing leaves the machine.
import { type DynamoDbLocal, startDynamoDbLocal } from '../dev/local/dynamodb-local';
import { type LocalResources, provisionLocal } from '../dev/local/provision';
import { type SqsLocal, startSqsLocal } from '../dev/local/sqs-local';
import { type AttestoSandbox, startAttestoSandbox } from '../dev/sandbox/server';
import { resetConfigCache } from '../shared/config';

export const APP_ID = 'com.example.app';
export const ATTESTO_KEY = 'attesto_test_bench_0123456789abcdefghijklmnopqrstuvwxyzABCD';
export const WEBHOOK_SECRET = 'bench-webhook-secret-0123456789abcdefghijklmn';

export interface LocalStack {
  ddb: DynamoDbLocal;
  sqs: SqsLocal;
  resources: LocalResources;
  sandbox: AttestoSandbox;
  /** A fresh set of tables and queues (own prefix), with the environment pointed at them. */
  freshTables(prefix: string): Promise<LocalResources>;
  stop(): Promise<void>;
}

export async function startLocalStack(): Promise<LocalStack> {
  const ddb = await startDynamoDbLocal({ killWithParent: true });
  const sqs = await startSqsLocal();
  const sandbox = await startAttestoSandbox({
    apiKey: ATTESTO_KEY,
    webhookSecret: WEBHOOK_SECRET,
    packageName: APP_ID,
    bundleId: APP_ID,
  });
  const freshTables = async (prefix: string) => {
    const resources = await provisionLocal({ ddbEndpoint: ddb.endpoint, sqsEndpoint: sqs.endpoint, prefix });
    Object.assign(process.env, resources.env);
    resetConfigCache();
    return resources;
  };
  Object.assign(process.env, {
    ATTESTO_URL: sandbox.url,
    ATTESTO_API_KEY: ATTESTO_KEY,
    ATTESTO_WEBHOOK_SECRET: WEBHOOK_SECRET,
    GOOGLE_PACKAGE_NAME: APP_ID,
    APPLE_BUNDLE_ID: APP_ID,
  });
  delete process.env.ATTESTO_API_KEY_SECRET_ARN;
  delete process.env.ATTESTO_WEBHOOK_SECRETS_ARN;
  const resources = await freshTables('bench-');
  return {
    ddb,
    sqs,
    resources,
    sandbox,
    freshTables,
    async stop() {
      await sandbox.stop();
      await sqs.stop();
      await ddb.stop();
    },
  };
}
