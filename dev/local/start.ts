// `npm start` (add `-- --in-memory` to keep nothing): the whole backend on this machine, bound to
// 127.0.0.1. Ctrl-C or SIGTERM stops everything it started, the DynamoDB Local java process too.
// `-- --bundled` serves the functions' esbuild bundles from a synth of the stage instead of the
// TypeScript sources.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type FunctionBundles, synthFunctionBundles } from './function-bundles';
import { localDataDir, REPO_ROOT } from './local-data';
import { type LocalRuntime, startLocalRuntime } from './local-runtime';

const USAGE = `usage: npm start [-- --in-memory] [--bundled [--stage <name>]]

  --in-memory   keep nothing: DynamoDB in memory, ephemeral token key and sandbox credentials
  --bundled     serve the esbuild bundles CDK deploys (synthesized at start) instead of the sources
  --stage NAME  the stage to synthesize for --bundled (default dev)
`;

export interface StartArgs {
  inMemory: boolean;
  /** The stage whose bundles are served; unset: the TypeScript sources through tsx. */
  bundledStage?: string;
}

export function parseStartArgs(args: readonly string[]): StartArgs {
  let inMemory = false;
  let bundled = false;
  let stage: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--in-memory') inMemory = true;
    else if (arg === '--bundled') bundled = true;
    else if (arg === '--stage' || arg.startsWith('--stage=')) {
      stage = arg === '--stage' ? args[++i] : arg.slice('--stage='.length);
      if (!stage || stage.startsWith('--')) throw new Error('--stage needs a stage name');
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (stage && !bundled) throw new Error('--stage goes with --bundled');
  return { inMemory, ...(bundled ? { bundledStage: stage ?? 'dev' } : {}) };
}

function functionsLine(bundles: FunctionBundles | undefined): string {
  if (!bundles) return 'TypeScript sources through tsx (--bundled serves what CDK deploys)';
  return `esbuild bundles of stage ${bundles.stage} (synthesized in ${(bundles.synthMs / 1000).toFixed(1)} s into ${bundles.outdir})`;
}

function banner(runtime: LocalRuntime, startedMs: number, bundles: FunctionBundles | undefined): string {
  const inRepo = runtime.data.startsWith(REPO_ROOT);
  const data = inRepo ? `${relative(REPO_ROOT, runtime.data) || '.'}/` : runtime.data;
  return [
    '',
    `iap-backend is running locally (ready in ${(startedMs / 1000).toFixed(1)} s)`,
    '',
    `  API        ${runtime.apiUrl}`,
    `  Webhook    ${runtime.webhookUrl}`,
    `  Attesto    ${runtime.attesto}`,
    `  Auth       ${runtime.auth}`,
    `  Token      npm run -s token -- alice`,
    `             curl -H "Authorization: Bearer $(npm run -s token -- alice)" ${runtime.apiUrl}/api/iap/entitlements`,
    `  Admin      npm run admin -- customer <user id, uuid, transaction id, token or order id>`,
    `             signed with this run's own key ${runtime.adminCredentials.accessKeyId} (docs/support.md)`,
    `  Functions  ${functionsLine(bundles)}`,
    `  Events     ${runtime.events}: npm run events -- tail`,
    `  Reconcile  ${runtime.reconcile}; one now: npm run reconcile`,
    `  Data       ${data}`,
    `  Emulators  ${runtime.emulators}`,
    '',
    'Ctrl-C to stop.',
    '',
  ].join('\n');
}

async function main() {
  const started = Date.now();
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  let parsed: StartArgs;
  try {
    parsed = parseStartArgs(args);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }

  // Whatever happens to this process, no java process may outlive it.
  const children = new Set<ChildProcess>();
  let bundles: FunctionBundles | undefined;
  process.on('exit', () => {
    if (bundles) rmSync(bundles.outdir, { recursive: true, force: true });
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  const log = (line: string) => process.stdout.write(`${line}\n`);
  const warn = (line: string) => process.stderr.write(`${line}\n`);
  let runtime: LocalRuntime | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('\nStopping…');
    await runtime?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => (stopping ? process.exit(130) : void shutdown(0)));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGHUP', () => void shutdown(0));

  try {
    if (parsed.bundledStage) {
      log(`Synthesizing stage ${parsed.bundledStage} and bundling every function with esbuild…`);
      bundles = synthFunctionBundles({
        stage: parsed.bundledStage,
        outdir: mkdtempSync(join(tmpdir(), `iap-bundled-${parsed.bundledStage}-`)),
      });
    }
    runtime = await startLocalRuntime({
      inMemory: parsed.inMemory,
      ...(bundles ? { bundleEntries: bundles.entries } : {}),
      env: process.env,
      dataDir: localDataDir(),
      log,
      warn,
      onChildProcess: (child) => {
        children.add(child);
        child.once('exit', (code, signal) => {
          children.delete(child);
          // During start-up a failure arrives as the thrown error instead.
          if (runtime && !stopping) {
            warn(`DynamoDB Local stopped unexpectedly (${signal ?? `exit code ${code}`}); shutting down.`);
            void shutdown(1);
          }
        });
      },
    });
  } catch (error) {
    warn(`npm start failed: ${(error as Error).message}`);
    stopping = true;
    process.exit(1);
  }
  if (stopping) return;
  log(banner(runtime, Date.now() - started, bundles));
}

process.on('uncaughtException', (error) => {
  process.stderr.write(`uncaught error: ${error.stack ?? error.message}\n`);
  process.exit(1);
});

void main();
