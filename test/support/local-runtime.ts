// Starting the local runtime (what `npm start` runs) for an end-to-end test, as a developer's
// fresh shell would: no Attesto and no auth settings, so it picks the Attesto sandbox and its own
// dev issuer, on free ports.

import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import {
  type LocalRuntime,
  type LocalRuntimeOptions,
  startLocalRuntime,
} from '../../dev/local/local-runtime';
import { freePort } from '../../dev/local/ports';
import { e2eBundleEntries } from './e2e-functions';

/** Settings a fresh shell does not have; with them unset the runtime brings its own. */
const RUNTIME_CHOICES = [
  'ATTESTO_URL',
  'ATTESTO_API_KEY',
  'ATTESTO_WEBHOOK_SECRET',
  'AUTH_ISSUER',
  'AUTH_AUDIENCE',
];

/** Removes those settings from `env`, in place. */
export function asFreshShell(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  for (const name of RUNTIME_CHOICES) delete env[name];
  return env;
}

export interface StartedRuntime {
  runtime: LocalRuntime;
  apiPort: number;
  sandboxPort: number;
}

/**
 * The runtime in memory, its data under `dataDir`, configured through process.env like `npm
 * start` (PORT and ATTESTO_SANDBOX_PORT are set there; the runtime sets ATTESTO_URL and the rest).
 */
export async function startRuntimeInMemory(options: {
  dataDir: string;
  warn?: (line: string) => void;
  /**
   * `npm start -- --bundled`: the functions' esbuild bundles (dev/local/function-bundles.ts);
   * by default this run's (e2e-functions.ts).
   */
  bundleEntries?: LocalRuntimeOptions['bundleEntries'];
  /** The runtime's request and queue log, which `npm start` prints. */
  log?: (line: string) => void;
}): Promise<StartedRuntime> {
  const bundleEntries = options.bundleEntries ?? (await e2eBundleEntries());
  asFreshShell(process.env);
  const apiPort = await freePort();
  const sandboxPort = await freePort();
  process.env.PORT = String(apiPort);
  process.env.ATTESTO_SANDBOX_PORT = String(sandboxPort);
  const runtime = await startLocalRuntime({
    inMemory: true,
    env: process.env,
    dataDir: options.dataDir,
    log: options.log ?? (() => {}),
    warn: options.warn ?? (() => {}),
    // The suite's DynamoDB Local and fauxqs (test/global-setup.ts), under this runtime's own
    // prefix: a Java process per runtime was a large share of the suite's CPU.
    emulators: {
      ddbEndpoint: inject('ddbEndpoint'),
      sqsEndpoint: inject('sqsEndpoint'),
      prefix: `r${randomUUID().slice(0, 8)}-`,
    },
    ...(bundleEntries ? { bundleEntries } : {}),
  });
  return { runtime, apiPort, sandboxPort };
}
