import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importNatively } from '../../dev/local/function-handlers';
import { resetConfigCache } from '../../shared/config';

// A function served from its esbuild bundle (`npm start -- --bundled`, the end-to-end tests) has
// its own copy of shared/config.ts. The local runtime and the tests change process.env and call
// resetConfigCache() on theirs; the bundled copy must see the change too, and keep its cache
// otherwise, as on Lambda.

const SETTING = 'IAP_BUNDLED_COPY_TEST_SETTING';
const source = (path: string) => JSON.stringify(fileURLToPath(new URL(path, import.meta.url)));

describe('the configuration cache of a bundled copy', () => {
  let dir: string;
  let copy: { read(): string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iap-config-copy-'));
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      [
        `import { readConfig, requiredSetting } from ${source('../../shared/config.ts')};`,
        `import * as z from ${source('../../shared/validation.ts')};`,
        `const schema = z.object({ ${SETTING}: requiredSetting });`,
        `export const read = () => readConfig(schema).${SETTING};`,
      ].join('\n'),
    );
    const outfile = join(dir, 'copy.mjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'node',
      outfile,
      logLevel: 'silent',
    });
    copy = (await importNatively(pathToFileURL(outfile).href)) as typeof copy;
  });
  afterAll(() => {
    delete process.env[SETTING];
    resetConfigCache();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps what it read until the environment is declared changed', () => {
    process.env[SETTING] = 'first';
    resetConfigCache();
    expect(copy.read()).toBe('first');
    process.env[SETTING] = 'second';
    expect(copy.read()).toBe('first');
  });

  it('reads the environment again after resetConfigCache() on the sources copy', () => {
    process.env[SETTING] = 'third';
    resetConfigCache();
    expect(copy.read()).toBe('third');
  });
});
