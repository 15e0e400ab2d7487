import { defineConfig } from 'vitest/config';
import { EndToEndLastSequencer } from './test/support/e2e-last-sequencer';

// Three projects, all run by `npm test`: `unit` needs neither Java nor emulators and runs in seconds
// (`npm run test:unit`); `infra` synthesizes the stack, bundling every function with esbuild; the
// rest runs against DynamoDB Local and the SQS emulator.
const UNIT = ['test/unit/**/*.test.ts'];
const INFRA = ['test/infra/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker per core less one: a single worker on a 2-core machine (CI's
    // size), idle most of the time while its tests wait on DynamoDB Local, timers and child
    // processes. Three keep both cores busy (measured: 8.5 min → 6 min for the same suite).
    maxWorkers: 3,
    // The end-to-end files last: the functions' bundles they run are built meanwhile.
    sequence: { sequencer: EndToEndLastSequencer },
    // Quiet logs and no EMF metric lines by default; tests that assert on them switch them on.
    // The AWS SDK's notice that its 2027 releases need Node 22 is printed once per worker; the
    // functions run on Node 24 on Lambda.
    env: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    projects: [
      {
        extends: true,
        // One module graph per worker instead of one per file: importing the AWS SDK and the
        // handlers again for every file was most of this project's time. The unit tests keep
        // no state between files (they pass shuffled), so sharing modules is safe.
        test: { name: 'unit', include: UNIT, isolate: false },
      },
      { extends: true, test: { name: 'infra', include: INFRA } },
      {
        extends: true,
        test: {
          name: 'emulators',
          include: ['test/**/*.test.ts'],
          exclude: [...UNIT, ...INFRA],
          // DynamoDB Local and the SQS emulator start once for the whole run, on free loopback ports.
          globalSetup: ['test/global-setup.ts'],
          // The end-to-end files check every answer of the API against docs/openapi.json, and run
          // the functions' bundles, built once per run (test/support/e2e-functions.ts).
          setupFiles: ['test/support/api-contract-setup.ts', 'test/support/e2e-functions-setup.ts'],
        },
      },
    ],
  },
});
