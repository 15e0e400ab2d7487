// The functions' esbuild bundles for one test run, built once: the emulators project's global
// setup starts the build in a child process, in the background, while DynamoDB Local starts and
// the first files run; the end-to-end files wait for its result (test/support/e2e-functions.ts).
// A child process, because CDK runs esbuild synchronously: in vitest's own process it would
// stall every worker's messages for the length of the synth.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionBundles } from '../../dev/local/function-bundles';

/** Written by the child when the bundles are ready: FunctionBundles as JSON. */
export const BUNDLES_FILE = 'bundles.json';
/** Written by the global setup when the child failed: what it printed. */
export const FAILED_FILE = 'failed.txt';
/** The stage the end-to-end files run: the one `npm start -- --bundled` serves by default. */
export const TEST_STAGE = 'dev';

export interface BundleBuild {
  /** Where the cloud assembly and BUNDLES_FILE go; handed to the test files. */
  dir: string;
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./bundle-build-child.ts', import.meta.url));
// CDK bundles from the project root: esbuild resolves the node-fetch alias from there.
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function startBundleBuild(): BundleBuild {
  const dir = mkdtempSync(join(tmpdir(), 'iap-test-bundles-'));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      if (!existsSync(join(dir, BUNDLES_FILE)))
        writeFileSync(
          join(dir, FAILED_FILE),
          `building the function bundles failed (${signal ?? `exit code ${code}`}):\n${output}`,
        );
      resolve();
    });
  });
  return {
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bundles in `dir`, once the build has finished; its output when it failed. */
export async function awaitBundles(dir: string, timeoutMs: number): Promise<FunctionBundles> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(join(dir, FAILED_FILE))) throw new Error(readFileSync(join(dir, FAILED_FILE), 'utf8'));
    if (existsSync(join(dir, BUNDLES_FILE)))
      return JSON.parse(readFileSync(join(dir, BUNDLES_FILE), 'utf8')) as FunctionBundles;
    if (!existsSync(dir)) throw new Error(`${dir} is gone: the test run is over`);
    if (Date.now() > deadline)
      throw new Error(`the function bundles were not ready after ${timeoutMs / 1000} s (${dir})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
