// The reconcile function's figures as they leave the real handler: one CloudWatch EMF line per
// pass with checked, changed, failed and still due, under the namespace the dashboard reads.
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../dev/fixtures/api-event';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { ReconcileSummary } from '../../shared/reconcile/pass';
import { useLocalAws } from '../support/local-aws';
import { startSandboxForConsumer } from './webhook-test-kit';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

type Handler = (event: unknown, context: Context) => Promise<ReconcileSummary>;
let sandbox: AttestoSandbox;

beforeAll(async () => {
  await useLocalAws();
  sandbox = await startSandboxForConsumer();
});
afterAll(async () => {
  await sandbox?.stop();
});

describe('reconcile handler metrics', () => {
  it('writes one EMF line per pass with every figure, zeros included', async () => {
    const { handler } = (await import('../../functions/reconcile/handler')) as { handler: Handler };
    const lines: Record<string, unknown>[] = [];
    const write = process.stdout.write.bind(process.stdout) as (
      chunk: unknown,
      ...rest: unknown[]
    ) => boolean;
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((
      chunk: unknown,
      ...rest: unknown[]
    ) => {
      const text = String(chunk);
      if (!text.includes('"_aws"')) return write(chunk, ...rest);
      for (const line of text.split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      return true;
    }) as typeof process.stdout.write);
    let summary: ReconcileSummary;
    try {
      summary = await handler(
        {},
        lambdaContext('reconcile', () => 60_000),
      );
    } finally {
      spy.mockRestore();
    }
    expect(summary).toMatchObject({ checked: 0, changed: 0, failed: 0, stillDue: 0 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: 'iap-backend',
      ReconcilePasses: 1,
      ReconcileChecked: 0,
      ReconcileChanged: 0,
      ReconcileFailed: 0,
      ReconcileStillDue: 0,
      ReconcileAttestoCalls: 0,
    });
    const aws = lines[0]?._aws as { CloudWatchMetrics: { Namespace: string }[] };
    expect(aws.CloudWatchMetrics[0]?.Namespace).toBe('IapBackend');
  });
});
