// Starts DynamoDB Local and the SQS emulator once for the whole test run, on free loopback
// ports. Test files provision their own prefixed tables and queues (test/support/local-aws.ts).
// When an end-to-end file is in the run, the functions' bundles are built in the background as
// well, once, for all of them (test/support/e2e-functions.ts).
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../dev/local/dynamodb-local';
import { startSqsLocal } from '../dev/local/sqs-local';
import { type BundleBuild, startBundleBuild } from './support/bundle-build';

function runsEndToEndFiles(project: TestProject): boolean {
  if (process.env.E2E_FUNCTIONS === 'sources') return false;
  const paths = project.vitest.state.getPaths();
  // Unknown (a watch-mode rerun): build rather than leave a file without its bundles.
  return paths.length === 0 || paths.some((path) => path.split('\\').join('/').includes('/test/e2e/'));
}

export default async function setup(project: TestProject) {
  const bundles: BundleBuild | undefined = runsEndToEndFiles(project) ? startBundleBuild() : undefined;
  project.provide('functionBundlesDir', bundles?.dir ?? '');
  const [ddbStart, sqsStart] = await Promise.allSettled([startDynamoDbLocal(), startSqsLocal()]);
  if (ddbStart.status === 'rejected' || sqsStart.status === 'rejected') {
    await Promise.all([
      ddbStart.status === 'fulfilled' && ddbStart.value.stop(),
      sqsStart.status === 'fulfilled' && sqsStart.value.stop(),
      bundles?.stop(),
    ]);
    throw ddbStart.status === 'rejected' ? ddbStart.reason : (sqsStart as PromiseRejectedResult).reason;
  }
  const [ddb, sqs] = [ddbStart.value, sqsStart.value];
  project.provide('ddbEndpoint', ddb.endpoint);
  project.provide('sqsEndpoint', sqs.endpoint);
  return async () => {
    await Promise.all([ddb.stop(), sqs.stop(), bundles?.stop()]);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    ddbEndpoint: string;
    sqsEndpoint: string;
  }
}
