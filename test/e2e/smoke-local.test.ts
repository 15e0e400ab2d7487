import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../dev/local/local-data';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import { type CheckResult, runSmokeChecks } from '../../ops/smoke-checks';
import { runSmokeCli } from '../../ops/smoke-cli';
import { localTarget } from '../../ops/smoke-local';
import { startRuntimeInMemory } from '../support/local-runtime';
import { localSqsClient } from '../support/queue-with-dlq';

// `npm run smoke -- --local` against the local runtime (what `npm start` runs, in memory): the
// same checks an operator runs after `cdk deploy`, and the failures they are there to catch.

const run = promisify(execFile);

interface RuntimeInfo {
  sqsEndpoint: string;
  dlqUrl: string;
}

describe('npm run smoke -- --local', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let info: RuntimeInfo;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iap-smoke-e2e-'));
    ({ runtime } = await startRuntimeInMemory({ dataDir }));
    info = (await (await fetch(`${runtime.apiUrl}/_dev/runtime`)).json()) as RuntimeInfo;
  }, 60_000);

  afterAll(async () => {
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const statuses = (checks: CheckResult[]) => Object.fromEntries(checks.map((c) => [c.check, c.status]));

  it('passes every check against npm start, alarms reported as skipped (not passed)', async () => {
    const { stdout } = await run('npm', ['run', '-s', 'smoke', '--', '--local', '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: new URL(runtime.apiUrl).port, ATTESTO_WEBHOOK_SECRET: '' },
      timeout: 120_000,
    });
    const report = JSON.parse(stdout) as { ok: boolean; target: string; checks: CheckResult[] };
    expect(report.target).toBe(`local runtime at ${runtime.apiUrl}`);
    expect(statuses(report.checks)).toEqual({
      products: 'pass',
      'token required': 'pass',
      'secrets set': 'pass',
      'webhook accepted': 'pass',
      'webhook consumed': 'pass',
      'dead-letter queue': 'pass',
      alarms: 'skip',
    });
    expect(report.ok).toBe(true);
  }, 120_000);

  it('fails, exit 1, when the webhook is signed with a secret the runtime does not accept', async () => {
    const out: string[] = [];
    const env = {
      ...process.env,
      PORT: new URL(runtime.apiUrl).port,
      ATTESTO_WEBHOOK_SECRET: 'not-the-secret',
    };
    const code = await runSmokeCli(['--local', '--timeout', '30'], {
      out: (line) => out.push(line),
      err: (line) => out.push(line),
      env,
    });
    expect(code).toBe(1);
    expect(out.join('\n')).toMatch(
      /✗ webhook accepted\s+POST \S+\/attesto-webhook answered 401: the signature was refused/,
    );
    expect(out.at(-1)).toBe('3 passed, 1 failed, 3 skipped');
    // A refused webhook must not reach the consumer at all.
    expect(out.join('\n')).toMatch(/– webhook consumed\s+skipped: the webhook was not accepted/);
  }, 60_000);

  it('fails when the dead-letter queue grows while the test event goes through', async () => {
    const sqs = localSqsClient(info.sqsEndpoint);
    const target = await localTarget({ apiUrl: runtime.apiUrl, env: { ATTESTO_WEBHOOK_SECRET: '' } });
    // An earlier event dead-letters while the check runs: a real message lands on the real DLQ.
    const deadLettering: typeof fetch = async (input, init) => {
      const answer = await fetch(input, init);
      if (String(input).endsWith('/attesto-webhook'))
        await sqs.send(new SendMessageCommand({ QueueUrl: info.dlqUrl, MessageBody: '{"event":"broken"}' }));
      return answer;
    };
    try {
      const results = await runSmokeChecks(target, {
        drainTimeoutMs: 30_000,
        pollIntervalMs: 100,
        fetchImpl: deadLettering,
      });
      const dlq = results.find((r) => r.check === 'dead-letter queue');
      expect(dlq).toEqual({
        check: 'dead-letter queue',
        status: 'fail',
        detail: 'grew from 0 to 1 message(s) during the check: inspect with npm run dlq -- list',
      });
      expect(statuses(results)['webhook consumed']).toBe('pass');
    } finally {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: info.dlqUrl, MaxNumberOfMessages: 10 }),
      );
      for (const m of Messages ?? [])
        await sqs.send(new DeleteMessageCommand({ QueueUrl: info.dlqUrl, ReceiptHandle: m.ReceiptHandle }));
      target.close();
      sqs.destroy();
    }
  }, 60_000);

  it('fails with what to do when no runtime answers', async () => {
    const out: string[] = [];
    const code = await runSmokeCli(['--local', '--api-url', 'http://127.0.0.1:9'], {
      out: (line) => out.push(line),
      err: (line) => out.push(line),
      env: {},
    });
    expect(code).toBe(1);
    expect(out[1]).toMatch(
      /✗ local runtime\s+no local runtime answered at http:\/\/127\.0\.0\.1:9\/_dev\/runtime .*start it with npm start/,
    );
  });
});
