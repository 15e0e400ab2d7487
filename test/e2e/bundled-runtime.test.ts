import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FunctionBundles } from '../../dev/local/function-bundles';
import { importNatively } from '../../dev/local/function-handlers';
import { type FunctionName, functions } from '../../infra/functions';
import { startContractApi } from '../support/contract-api';
import { e2eBundleEntries, e2eBundles, e2eHandlerResolver, e2eRunsSources } from '../support/e2e-functions';

// `npm start -- --bundled` and the end-to-end files serve the functions as CDK bundles them for
// the dev stage (esbuild, ESM banner, node-fetch alias, minified), imported by Node itself from
// the cloud assembly. This file checks what is particular to that: the way each function is found
// in the assembly and that the helpers the suites start functions with hand out these bundles.
// The client API, webhook, notification, admin and smoke suites themselves run on them
// (test/unit/e2e-suites-on-bundles.test.ts lists which).

describe.skipIf(e2eRunsSources())('the functions as CDK bundles them (npm start -- --bundled)', () => {
  let bundles: FunctionBundles;

  beforeAll(async () => {
    bundles = await e2eBundles();
    console.info(
      `synth + esbuild of the ${bundles.stage} stage (${Object.keys(bundles.entries).length} functions), once for this run: ${(bundles.synthMs / 1000).toFixed(1)} s`,
    );
  });

  it('maps every function to an index.mjs in its own asset folder of the synthesized stage', () => {
    const urls = Object.values(bundles.entries);
    // Every function the product defines, each from its own bundle.
    expect(Object.keys(bundles.entries).sort()).toEqual(Object.keys(functions).sort());
    for (const url of urls) expect(url).toMatch(/\/cdk\.out\/asset\.[0-9a-f]{64}\/index\.mjs$/);
    expect(new Set(urls).size).toBe(urls.length);
  });

  it('each bundle is the ESM that Lambda loads, opening with the require banner', () => {
    for (const url of Object.values(bundles.entries)) {
      const code = readFileSync(fileURLToPath(url), 'utf8');
      expect(code.startsWith("import { createRequire as __createRequire } from 'node:module';"), url).toBe(
        true,
      );
    }
  });

  it('the suites start their functions from these bundles, never from the sources', async () => {
    expect(await e2eBundleEntries()).toEqual(bundles.entries);
    const resolve = await e2eHandlerResolver();
    for (const fn of Object.keys(functions) as FunctionName[]) {
      const bundled = (await importNatively(bundles.entries[fn])) as { handler: unknown };
      expect(await resolve(fn), fn).toBe(bundled.handler);
    }
    // startContractApi serves the client API from them too (startRuntimeInMemory takes the entries).
    const api = await startContractApi();
    try {
      const products = (await importNatively(bundles.entries.products)) as { handler: unknown };
      expect(await api.handler('products')).toBe(products.handler);
      expect((await api.call('GET', '/api/iap/products', { user: null })).status).toBe(200);
    } finally {
      await api.stop();
    }
  });
});
