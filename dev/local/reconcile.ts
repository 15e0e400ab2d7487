// `npm run reconcile [-- --json]`: one reconciliation pass now, in the running `npm start` (found
// by PORT, like `npm run token`), checking everything due at this moment; prints what it checked
// and changed. --json prints {"checked":n,"changed":n,"failed":n}.
import type { ReconcileSummary } from '../../shared/reconcile/pass';
import { localApiUrl, localPort, runCli } from './cli';
import { RECONCILE_PATH } from './reconcile-runner';

const USAGE = 'usage: npm run reconcile [-- --json]\n';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const unknown = args.filter((a) => a !== '--json');
  if (unknown.length) {
    process.stderr.write(`unknown argument ${unknown.join(' ')}\n${USAGE}`);
    return 2;
  }
  const port = localPort();
  let response: Response;
  try {
    response = await fetch(`${localApiUrl()}${RECONCILE_PATH}`, {
      method: 'POST',
      // A pass stops on its own well inside the function's 5 minutes.
      signal: AbortSignal.timeout(330_000),
    });
  } catch {
    process.stderr.write(`npm start is not running on port ${port} (set PORT if it runs on another)\n`);
    return 1;
  }
  if (response.status === 404) {
    process.stderr.write(
      `the server on port ${port} does not run reconciliation passes (is it npm start?)\n`,
    );
    return 1;
  }
  const body = (await response.json()) as ReconcileSummary & { message?: string };
  if (!response.ok) {
    process.stderr.write(`${body.message ?? `the pass failed (${response.status})`}\n`);
    return 1;
  }
  if (args.includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({ checked: body.checked, changed: body.changed, failed: body.failed })}\n`,
    );
  } else {
    process.stdout.write(
      [
        `checked ${body.checked} purchase(s) with Attesto (${body.attestoCalls} call(s))`,
        `changed ${body.changed}`,
        `failed  ${body.failed}${body.failed ? ' (they stay due for the next pass)' : ''}`,
        `still due ${body.stillDue}`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}

runCli(main);
