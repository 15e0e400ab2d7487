import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The end-to-end suites run the functions as CDK bundles them (test/support/e2e-functions.ts),
// so a bundling mistake cannot reach a deployment. A suite gets that by starting its functions
// through the shared helpers; one that loads the TypeScript sources, or reaches into them (a spy
// on a module, a mocked client, a handler imported directly), would silently test something
// else. Such a suite says why in one line; this lists both kinds so neither changes unnoticed.

const E2E_DIR = fileURLToPath(new URL('../e2e/', import.meta.url));

/** Starting functions through these serves the bundles. */
const BUNDLED_HELPERS = /\b(startContractApi|startRuntimeInMemory|e2eHandlerResolver|e2eBundles)\(/;
/** What a suite on the bundles must not do: each loads, or acts on, the sources' modules. */
const SOURCES_ONLY = [
  { what: 'loads handlers from the sources', pattern: /\bfunctionHandlerResolver\(/ },
  { what: 'imports a function directly', pattern: /['"]\.\.\/\.\.\/functions\// },
  { what: 'mocks an AWS client in this process', pattern: /\bmockClient\(/ },
  { what: 'mocks a module in this process', pattern: /\bvi\.(mock|doMock)\(/ },
  { what: "spies on this process's logger", pattern: /\bvi\.spyOn\(\s*logger\b/ },
];
const SOURCES_REASON = /^\/\/ Runs on the TypeScript sources: (.+)$/m;

type Verdict = { on: 'bundles' } | { on: 'sources'; reason: string } | { problem: string };

function classify(source: string): Verdict {
  const reason = SOURCES_REASON.exec(source)?.[1];
  if (reason) return { on: 'sources', reason };
  const reaches = SOURCES_ONLY.filter(({ pattern }) => pattern.test(source)).map(({ what }) => what);
  if (reaches.length > 0)
    return {
      problem: `${reaches.join(', ')}: use the shared helpers, or say "// Runs on the TypeScript sources: <why>"`,
    };
  if (!BUNDLED_HELPERS.test(source))
    return { problem: 'starts no function through the shared helpers and does not say why' };
  return { on: 'bundles' };
}

const ON_BUNDLES = [
  'admin-atomicity.test.ts',
  'admin-customer.test.ts',
  'admin-erasure.test.ts',
  'admin-grants.test.ts',
  'admin-resync.test.ts',
  'admin-transfer.test.ts',
  'bundled-runtime.test.ts',
  'contract-http.test.ts',
  'contract-restore.test.ts',
  'contract-verify.test.ts',
  'events-local-runtime.test.ts',
  'hard-cases-bad-input.test.ts',
  'hard-cases-idor.test.ts',
  'hard-cases-log-capture.test.ts',
  'hard-cases-store-endpoints.test.ts',
  'notifications-local-http.test.ts',
  'ownership.test.ts',
  'reconcile-local.test.ts',
  'smoke-local.test.ts',
  'walkthrough.test.ts',
  'webhook-local-runtime.test.ts',
];
const ON_SOURCES = ['start.test.ts'];

describe('which end-to-end suites run on the bundles', () => {
  const verdicts = new Map(
    readdirSync(E2E_DIR)
      .filter((file) => file.endsWith('.test.ts'))
      .map((file) => [file, classify(readFileSync(`${E2E_DIR}${file}`, 'utf8'))] as const),
  );

  it('every suite runs on the bundles, or says in one line why it runs on the sources', () => {
    const problems = [...verdicts].flatMap(([file, v]) => ('problem' in v ? [`${file}: ${v.problem}`] : []));
    expect(problems).toEqual([]);
  });

  it('these run on the bundles, and only these on the sources', () => {
    const on = (kind: string) =>
      [...verdicts].filter(([, v]) => 'on' in v && v.on === kind).map(([file]) => file);
    expect(on('bundles')).toEqual(ON_BUNDLES);
    expect(on('sources')).toEqual(ON_SOURCES);
  });

  it('catches a suite that loads the sources, or spies on them, without saying why', () => {
    const start = 'const api = await startContractApi();\n';
    expect(classify(start)).toEqual({ on: 'bundles' });
    expect(classify(`${start}const r = functionHandlerResolver();`)).toMatchObject({
      problem: expect.stringContaining('loads handlers from the sources'),
    });
    expect(classify(`${start}const s = vi.spyOn(logger, 'warn');`)).toMatchObject({
      problem: expect.stringContaining("spies on this process's logger"),
    });
    expect(classify(`${start}await import('../../functions/verify/handler');`)).toMatchObject({
      problem: expect.stringContaining('imports a function directly'),
    });
    expect(classify('const r = 1;')).toMatchObject({ problem: expect.stringContaining('does not say why') });
    expect(classify(`// Runs on the TypeScript sources: it is npm start itself.\n${start}`)).toEqual({
      on: 'sources',
      reason: 'it is npm start itself.',
    });
  });
});
