// Setup of the emulator test project: an end-to-end file first waits for this run's function
// bundles (e2e-functions.ts), under a budget of its own, so the file's hooks keep theirs. Only
// the first files of a run wait: the build started with the run, in the background.
import { beforeAll, expect } from 'vitest';
import { BUNDLES_WAIT_MS, e2eBundles, e2eRunsSources } from './e2e-functions';

beforeAll(async () => {
  const file = (expect.getState().testPath ?? '').split('\\').join('/');
  if (!file.includes('/test/e2e/') || e2eRunsSources()) return;
  await e2eBundles();
}, BUNDLES_WAIT_MS + 10_000);
