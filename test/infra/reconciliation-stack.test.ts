import { describe, expect, it } from 'vitest';
import { type CfnJson, PROD_APP_SETTINGS, synthStage } from './synth';

// The scheduled reconciliation: an EventBridge Scheduler schedule per stage (disabled, not
// removed, by the stage's off-switch) invoking the reconcile function with its call budget, and
// its figures and alarms on the dashboard and the alarm topic.

const dev = synthStage({ stage: 'dev' });
const resources = (s: typeof dev, type: string) =>
  Object.values(s.json.Resources).filter((r) => r.Type === type);

describe('reconciliation in the stack', () => {
  it('invokes the reconcile function every 15 minutes through EventBridge Scheduler, enabled by default', () => {
    const [schedule, ...more] = resources(dev, 'AWS::Scheduler::Schedule');
    expect(more).toEqual([]);
    expect(schedule?.Properties).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [dev.logicalId(dev.stack.functions.reconcile), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0 },
      },
    });
  });

  it('the off-switch and the rate are per stage (context overrides here)', () => {
    const off = synthStage({
      stage: 'prod',
      ...PROD_APP_SETTINGS,
      reconciliation: 'false',
      reconcileEveryMinutes: '60',
    });
    expect(resources(off, 'AWS::Scheduler::Schedule')[0]?.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      State: 'DISABLED',
    });
    expect(() => synthStage({ stage: 'dev', reconcileMaxCalls: '0' })).toThrow(/reconciliation\.maxCalls/);
  });

  it('gives the pass its budget and every purchase-writing function the schedule settings', () => {
    const vars = (name: keyof typeof dev.stack.functions) =>
      dev.json.Resources[dev.logicalId(dev.stack.functions[name])]?.Properties.Environment.Variables;
    expect(vars('reconcile')).toMatchObject({ RECONCILE_MAX_CALLS: '200', RECONCILE_CONCURRENCY: '4' });
    expect(dev.json.Resources[dev.logicalId(dev.stack.functions.reconcile)]?.Properties.Timeout).toBe(300);
    for (const name of [
      'verify-apple',
      'verify-google',
      'restore',
      'webhook-consumer',
      'reconcile',
    ] as const) {
      expect(vars(name), name).toMatchObject({
        RECONCILE_DELAY_SECONDS: '600',
        RECONCILE_LOOKBACK_DAYS: '60',
      });
    }
  });

  it('lets only the scheduler invoke the function, through a role of its own', () => {
    const fnId = dev.logicalId(dev.stack.functions.reconcile);
    const invoke = resources(dev, 'AWS::IAM::Policy')
      .flatMap((p) => p.Properties.PolicyDocument.Statement as CfnJson[])
      .filter((st) => st.Action === 'lambda:InvokeFunction');
    expect(invoke.length).toBeGreaterThan(0);
    for (const st of invoke) expect(JSON.stringify(st.Resource)).toContain(fnId);
  });

  it('alarms to the topic when passes keep failing and when the due backlog outgrows a pass', () => {
    const topicId = dev.logicalId(dev.stack.monitoring.topic);
    const alarms = resources(dev, 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    const failing = alarms.find((a) => JSON.stringify(a.Metrics ?? []).includes('ReconcileFailed'));
    expect(failing).toMatchObject({ EvaluationPeriods: 3, DatapointsToAlarm: 3, Threshold: 0 });
    expect(failing?.AlarmActions).toEqual([{ Ref: topicId }]);
    const backlog = alarms.find((a) => JSON.stringify(a.Metrics ?? []).includes('ReconcileStillDue'));
    expect(backlog).toMatchObject({
      Threshold: 200,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(backlog?.Metrics[0].MetricStat).toMatchObject({
      Metric: { MetricName: 'ReconcileStillDue', Namespace: 'IapBackend' },
      Stat: 'Maximum',
      Period: 900,
    });
    expect(backlog?.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  it('graphs checked, changed, failed and still due on the dashboard', () => {
    const dashboard = resources(dev, 'AWS::CloudWatch::Dashboard')[0];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const metric of ['ReconcileChecked', 'ReconcileChanged', 'ReconcileFailed', 'ReconcileStillDue'])
      expect(body).toContain(metric);
  });
});
