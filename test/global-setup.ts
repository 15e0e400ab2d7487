// Starts DynamoDB Local and the SQS emulator once for the whole test run, on free loopback
// ports. Test files provision their own prefixed tables and queues (test/support/local-aws.ts).
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../dev/local/dynamodb-local';
import { startSqsLocal } from '../dev/local/sqs-local';

export default async function setup(project: TestProject) {
  const [ddb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
  project.provide('ddbEndpoint', ddb.endpoint);
  project.provide('sqsEndpoint', sqs.endpoint);
  return async () => {
    await Promise.all([ddb.stop(), sqs.stop()]);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    ddbEndpoint: string;
    sqsEndpoint: string;
  }
}
