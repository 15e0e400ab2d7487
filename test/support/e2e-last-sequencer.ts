// The end-to-end files wait for the functions' bundles, which the emulators project's global
// setup starts building with the run (e2e-functions.ts). Run after the other files of their
// project, they find the build done: the synth overlaps the integration files instead of
// holding up a worker. Otherwise vitest's order (failed first, then slowest first) stands.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const isEndToEnd = (spec: TestSpecification) => spec.moduleId.split('\\').join('/').includes('/test/e2e/');

export class EndToEndLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // Per project, in the order vitest gave them: a project's files stay together.
    const byProject = new Map<string, TestSpecification[]>();
    for (const spec of sorted) {
      const name = spec.project.name;
      byProject.set(name, [...(byProject.get(name) ?? []), spec]);
    }
    return [...byProject.values()].flatMap((specs) => [
      ...specs.filter((spec) => !isEndToEnd(spec)),
      ...specs.filter(isEndToEnd),
    ]);
  }
}
