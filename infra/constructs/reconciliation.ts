// The scheduled reconciliation passes (docs/reconciliation.md): an EventBridge Scheduler schedule
// invoking the reconcile function at the stage's rate (disabled, not removed, when the stage turns
// it off), the pass's figures on the dashboard, and alarms for passes that keep failing and for a
// due backlog bigger than the passes clear.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import type { ReconciliationSettings } from '../stage/schema';
import { METRICS_NAMESPACE, SERVICE_NAME } from './function-factory';
import type { Monitoring } from './monitoring';

export interface ReconciliationProps {
  fn: LambdaFunction;
  settings: ReconciliationSettings;
  monitoring: Monitoring;
}

/** Passes in a row that must fail, or leave a backlog, before anyone is woken. */
const PASSES_BEFORE_ALARM = 3;

export class Reconciliation extends Construct {
  readonly schedule: Schedule;
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: ReconciliationProps) {
    super(scope, id);
    const { settings, fn, monitoring } = props;
    const every = Duration.minutes(settings.everyMinutes);

    // A role of its own that may invoke this one function only.
    const role = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Lets EventBridge Scheduler start reconciliation passes',
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as CfnFunction)}.Arn>:*]`,
      reason:
        "lambda:InvokeFunction on the reconcile function's own versions and aliases (`<arn>:*`), as the scheduler target grant writes it; no other function.",
    });
    this.schedule = new Schedule(this, 'Schedule', {
      description: `Reconciliation pass every ${settings.everyMinutes} min (at most ${settings.maxCalls} Attesto calls)`,
      schedule: ScheduleExpression.rate(every),
      enabled: settings.enabled,
      // A pass that could not start is not retried: the next one checks everything still due.
      target: new LambdaInvoke(fn, { role, retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
    });
    fn.addEnvironment('RECONCILE_MAX_CALLS', String(settings.maxCalls));
    fn.addEnvironment('RECONCILE_CONCURRENCY', String(settings.concurrency));

    // One datapoint per pass: the period is the schedule's rate (at least CloudWatch's minute).
    const period = every;
    const passMetric = (metricName: string, statistic: string, label: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: SERVICE_NAME },
        statistic,
        period,
        label,
      });
    const checked = passMetric('ReconcileChecked', 'Sum', 'checked');
    const changed = passMetric('ReconcileChanged', 'Sum', 'changed');
    const failed = passMetric('ReconcileFailed', 'Sum', 'failed');
    const stillDue = passMetric('ReconcileStillDue', 'Maximum', 'still due');
    const attestoCalls = passMetric('ReconcileAttestoCalls', 'Sum', 'Attesto calls');
    const errors = fn.metricErrors({ period, statistic: 'Sum' });
    const failing = new MathExpression({
      expression: 'FILL(failed, 0) + FILL(errors, 0)',
      usingMetrics: { failed, errors },
      label: 'failed checks + failed passes',
      period,
    });

    const action = new SnsAction(monitoring.topic);
    const alarm = (
      alarmId: string,
      description: string,
      alarmProps: ConstructorParameters<typeof Alarm>[2],
    ) => {
      const a = new Alarm(this, alarmId, { ...alarmProps, alarmDescription: description });
      a.addAlarmAction(action);
      a.addOkAction(action);
      return a;
    };
    this.alarms = [
      alarm(
        'PassesFailing',
        `Reconciliation checks or passes failed in ${PASSES_BEFORE_ALARM} passes in a row: Attesto unavailable or rate limiting, or the function failing (see its log group). Purchases stay due and are checked once it recovers.`,
        {
          metric: failing,
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: PASSES_BEFORE_ALARM,
          datapointsToAlarm: PASSES_BEFORE_ALARM,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        },
      ),
      alarm(
        'BacklogGrowing',
        `More purchases were still due after ${PASSES_BEFORE_ALARM} passes in a row than one pass may check (${settings.maxCalls}): raise reconciliation.maxCalls or the rate, or look for a cause of mass staleness (webhooks not arriving).`,
        {
          metric: stillDue,
          threshold: settings.maxCalls,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: PASSES_BEFORE_ALARM,
          datapointsToAlarm: PASSES_BEFORE_ALARM,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        },
      ),
    ];

    monitoring.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Reconciliation alarms', alarms: this.alarms, width: 6, height: 6 }),
      new GraphWidget({
        title: 'Reconciliation passes',
        left: [checked, changed, failed],
        right: [attestoCalls],
        width: 9,
      }),
      new GraphWidget({ title: 'Reconciliation: still due after a pass', left: [stillDue], width: 9 }),
    );
  }
}
