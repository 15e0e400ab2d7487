// `npm start` (add `-- --in-memory` to keep nothing): the whole backend on this machine, bound to
// 127.0.0.1. Ctrl-C or SIGTERM stops everything it started, the DynamoDB Local java process too.
import type { ChildProcess } from 'node:child_process';
import { relative } from 'node:path';
import { localDataDir, REPO_ROOT } from './local-data';
import { type LocalRuntime, startLocalRuntime } from './local-runtime';

const USAGE = `usage: npm start [-- --in-memory]

  --in-memory   keep nothing: DynamoDB in memory, ephemeral token key and sandbox credentials
`;

function banner(runtime: LocalRuntime, startedMs: number): string {
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
  const unknown = args.filter((a) => a !== '--in-memory');
  if (unknown.length) {
    process.stderr.write(`unknown argument ${unknown.join(' ')}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }

  // Whatever happens to this process, no java process may outlive it.
  const children = new Set<ChildProcess>();
  process.on('exit', () => {
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
    runtime = await startLocalRuntime({
      inMemory: args.includes('--in-memory'),
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
  log(banner(runtime, Date.now() - started));
}

process.on('uncaughtException', (error) => {
  process.stderr.write(`uncaught error: ${error.stack ?? error.message}\n`);
  process.exit(1);
});

void main();
