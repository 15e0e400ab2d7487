import { describe, expect, it } from 'vitest';
import type { TestSpecification, Vitest } from 'vitest/node';
import { EndToEndLastSequencer } from '../support/e2e-last-sequencer';

// vitest's own order is kept (here: every file unknown to its cache, so as given), except that
// a project's end-to-end files move behind its other files.

const spec = (project: string, file: string) =>
  ({
    moduleId: `/repo/test/${file}`,
    project: { name: project, config: { sequence: { groupOrder: 0 }, isolate: true } },
  }) as unknown as TestSpecification;

const noHistory = {
  cache: { getFileTestResults: () => undefined, getFileStats: () => undefined },
  config: { root: '/repo' },
} as unknown as Vitest;

describe('EndToEndLastSequencer', () => {
  it("runs each project's end-to-end files after its other files, projects still one after another", async () => {
    const files = [
      spec('emulators', 'e2e/walkthrough.test.ts'),
      spec('emulators', 'integration/outbox.test.ts'),
      spec('emulators', 'e2e/contract-http.test.ts'),
      spec('emulators', 'integration/store-purchases.test.ts'),
      spec('unit', 'unit/layering.test.ts'),
    ];
    const sorted = await new EndToEndLastSequencer(noHistory).sort(files);
    expect(sorted.map((s) => `${s.project.name}:${s.moduleId.replace('/repo/test/', '')}`)).toEqual([
      'emulators:integration/outbox.test.ts',
      'emulators:integration/store-purchases.test.ts',
      'emulators:e2e/walkthrough.test.ts',
      'emulators:e2e/contract-http.test.ts',
      'unit:unit/layering.test.ts',
    ]);
  });
});
