// `npm run smoke -- --stage <name> [--region r]`: after `cdk deploy`, checks the stage end to end
// with the caller's AWS credentials. `npm run smoke -- --local` runs the same checks against a
// running `npm start`. One line per check, exit 1 when any fails (docs/deploy.md says what each
// one means and what to do about it).
import { type CheckResult, runSmokeChecks, type SmokeTarget } from './smoke-checks';
import { deployedTarget, MissingOutputError } from './smoke-deployed';
import { LocalRuntimeNotFoundError, localTarget } from './smoke-local';
import { StackNotFoundError } from './stack-outputs';

const USAGE = `usage: npm run smoke -- --stage <name> [--region REGION] [options]
       npm run smoke -- --local [--api-url URL] [options]

  --stage NAME      the deployed stage to check (stack IapBackend-<name>), with your AWS credentials
  --region REGION   its region (else AWS_REGION / your profile's)
  --local           the running npm start instead (found by PORT, default 3000)
  --api-url URL     where that runtime listens   (default http://127.0.0.1:$PORT)
  --timeout SEC     how long the consumer may take to drain the test webhook (default 60)
  --json            print the results as JSON
`;

export class UsageError extends Error {}

export interface SmokeArgs {
  target:
    | { kind: 'deployed'; stage: string; region: string | undefined }
    | { kind: 'local'; apiUrl?: string };
  timeoutSeconds: number;
  json: boolean;
}

const VALUE_FLAGS = new Set(['stage', 'region', 'api-url', 'timeout']);
const SWITCHES = new Set(['local', 'json']);

export function parseSmokeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): SmokeArgs {
  const values: Record<string, string> = {};
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const name = match?.[1] ?? '';
    if (SWITCHES.has(name) && match?.[2] === undefined) {
      switches.add(name);
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown argument "${arg}"`);
    const value = match?.[2] ?? argv[++i];
    if (value === undefined || value === '' || value.startsWith('--'))
      throw new UsageError(`--${name} needs a value`);
    values[name] = value;
  }
  const timeout = values.timeout ?? '60';
  if (!/^[1-9]\d*$/.test(timeout)) throw new UsageError('--timeout must be a positive number of seconds');
  const common = { timeoutSeconds: Number(timeout), json: switches.has('json') };
  if (switches.has('local')) {
    if (values.stage || values.region)
      throw new UsageError('--local checks npm start: leave out --stage and --region');
    return {
      ...common,
      target: { kind: 'local', ...(values['api-url'] ? { apiUrl: values['api-url'] } : {}) },
    };
  }
  if (values['api-url']) throw new UsageError('--api-url goes with --local');
  if (!values.stage) throw new UsageError('say which stage: --stage <name>, or --local for npm start');
  if (!/^[A-Za-z0-9-]+$/.test(values.stage)) throw new UsageError(`"${values.stage}" is not a stage name`);
  return {
    ...common,
    target: { kind: 'deployed', stage: values.stage, region: values.region ?? (env.AWS_REGION || undefined) },
  };
}

const MARK: Record<CheckResult['status'], string> = { pass: '✓', fail: '✗', skip: '–' };

export function formatResults(description: string, results: CheckResult[]): string[] {
  const width = Math.max(...results.map((r) => r.check.length));
  const count = (status: CheckResult['status']) => results.filter((r) => r.status === status).length;
  return [
    `Smoke test of ${description}`,
    ...results.map(
      (r) =>
        `  ${MARK[r.status]} ${r.check.padEnd(width)}  ${r.status === 'skip' ? 'skipped: ' : ''}${r.detail}`,
    ),
    `${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped`,
  ];
}

export interface SmokeIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export async function runSmokeCli(argv: readonly string[], io: SmokeIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  const env = io.env ?? process.env;
  let args: SmokeArgs;
  try {
    args = parseSmokeArgs(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`smoke: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  const report = (description: string, results: CheckResult[]) => {
    const failed = results.some((r) => r.status === 'fail');
    if (args.json) io.out(JSON.stringify({ target: description, ok: !failed, checks: results }, null, 2));
    else for (const line of formatResults(description, results)) io.out(line);
    return failed ? 1 : 0;
  };

  let target: SmokeTarget & { close?: () => void };
  try {
    target =
      args.target.kind === 'local'
        ? await localTarget({ ...(args.target.apiUrl ? { apiUrl: args.target.apiUrl } : {}), env })
        : await deployedTarget({ stage: args.target.stage, region: args.target.region });
  } catch (error) {
    const known =
      error instanceof MissingOutputError ||
      error instanceof StackNotFoundError ||
      error instanceof LocalRuntimeNotFoundError;
    const message = known
      ? (error as Error).message
      : `${(error as Error).name}: ${(error as Error).message}`;
    const local = args.target.kind === 'local';
    const what = args.target.kind === 'local' ? 'the local runtime' : `stage ${args.target.stage}`;
    return report(what, [
      { check: local ? 'local runtime' : 'stack outputs', status: 'fail', detail: message },
    ]);
  }
  try {
    return report(
      target.description,
      await runSmokeChecks(target, { drainTimeoutMs: args.timeoutSeconds * 1000 }),
    );
  } finally {
    target.close?.();
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runSmokeCli(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
