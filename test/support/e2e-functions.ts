// The code the end-to-end files run behind the local API and queue pollers: the functions'
// esbuild bundles, as CDK deploys them and `npm start -- --bundled` serves them, built once per
// test run (bundle-build.ts), so a bundling mistake fails here instead of in a deployment.
// E2E_FUNCTIONS=sources runs them on the TypeScript sources instead (breakpoints, a quick run of
// one file); the sources stay covered by the integration tests and start.test.ts either way.
import { inject } from 'vitest';
import type { FunctionBundles } from '../../dev/local/function-bundles';
import {
  bundledHandlerResolver,
  functionHandlerResolver,
  type HandlerResolver,
} from '../../dev/local/function-handlers';
import type { FunctionName } from '../../infra/functions';
import { awaitBundles } from './bundle-build';

/** A synth with an esbuild run per function, on two busy cores; a failed build reports at once. */
export const BUNDLES_WAIT_MS = 240_000;

export function e2eRunsSources(): boolean {
  return process.env.E2E_FUNCTIONS === 'sources';
}

let bundles: Promise<FunctionBundles> | undefined;

/** This run's bundles, waiting for the build the global setup started. */
export function e2eBundles(): Promise<FunctionBundles> {
  const dir = inject('functionBundlesDir');
  if (!dir)
    return Promise.reject(
      new Error(
        'no function bundles in this run: test/global-setup.ts builds them when an end-to-end file runs',
      ),
    );
  bundles ??= awaitBundles(dir, BUNDLES_WAIT_MS);
  return bundles;
}

/** Each function's bundle, or undefined when E2E_FUNCTIONS=sources. */
export async function e2eBundleEntries(): Promise<Record<FunctionName, string> | undefined> {
  return e2eRunsSources() ? undefined : (await e2eBundles()).entries;
}

/** Loads each function the way the end-to-end files run it (above). */
export async function e2eHandlerResolver(): Promise<HandlerResolver> {
  const entries = await e2eBundleEntries();
  return entries ? bundledHandlerResolver(entries) : functionHandlerResolver();
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** bundle-build.ts's directory, or '' when no end-to-end file runs (or E2E_FUNCTIONS=sources). */
    functionBundlesDir: string;
  }
}
