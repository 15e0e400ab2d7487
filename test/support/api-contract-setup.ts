// Setup of the emulator test project: in the end-to-end files, every answer of the API that a
// test (or the Attesto sandbox delivering webhooks) receives through `fetch` is checked against
// docs/openapi.json, so a new test gets the check without asking. An undocumented status, a
// missing field or an extra one fails the test that received it.
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { contractCheckedFetch } from './api-contract';

const unchecked = globalThis.fetch;
const problems: Error[] = [];

beforeAll(() => {
  const file = (expect.getState().testPath ?? '').split('\\').join('/');
  if (!file.includes('/test/e2e/')) return;
  globalThis.fetch = contractCheckedFetch(unchecked, { onProblem: (error) => problems.push(error) });
});

// The fetch that saw a mismatch threw already; this catches callers that swallow it.
afterEach(() => {
  const seen = problems.splice(0);
  if (seen.length > 0) throw new Error(seen.map((e) => e.message).join('\n'));
});

afterAll(() => {
  globalThis.fetch = unchecked;
});
