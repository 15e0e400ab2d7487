// What should wake someone up, sent to one SNS topic: events stuck in the DLQ, a failing consumer,
// an API answering 5xx, and throttled functions. The dashboard shows the same signals with context.
import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  type Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface MonitoringProps {
  api: HttpApi;
  queue: Queue;
  deadLetterQueue: Queue;
  consumer: LambdaFunction;
  functions: LambdaFunction[];
  alarmEmail?: string;
  api5xxRatePercent: number;
}

const FIVE_MINUTES = Duration.minutes(5);

export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'iap-backend alarms', enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const dlqVisible = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: 'Maximum',
    });
    const consumerErrors = props.consumer.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' });
    const requests = props.api.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' });
    const serverErrors = props.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' });
    const serverErrorRate = new MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      label: 'API 5xx %',
      period: FIVE_MINUTES,
    });
    // An alarm's metric math may combine at most 10 metrics.
    if (props.functions.length > 10)
      throw new Error('LambdaThrottles alarm: split it, more than 10 functions');
    const throttleMetrics: Record<string, Metric> = {};
    props.functions.forEach((fn, i) => {
      throttleMetrics[`t${i}`] = fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' });
    });
    const throttles = new MathExpression({
      expression: Object.keys(throttleMetrics).join(' + '),
      usingMetrics: throttleMetrics,
      label: 'Lambda throttles (all functions)',
      period: FIVE_MINUTES,
    });

    const action = new SnsAction(this.topic);
    const alarm = (alarmId: string, description: string, props: ConstructorParameters<typeof Alarm>[2]) => {
      const a = new Alarm(this, alarmId, { ...props, alarmDescription: description });
      a.addAlarmAction(action);
      a.addOkAction(action);
      return a;
    };
    this.alarms = [
      alarm(
        'DeadLetterQueueNotEmpty',
        'Webhook events failed 5 times and wait in the DLQ. Inspect with `npm run dlq`, fix the cause, then redrive.',
        {
          metric: dlqVisible,
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        },
      ),
      alarm('ConsumerErrors', 'The webhook consumer failed whole invocations (see its log group).', {
        metric: consumerErrors,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      alarm('ApiServerErrorRate', `More than ${props.api5xxRatePercent}% of API requests answered 5xx.`, {
        metric: serverErrorRate,
        threshold: props.api5xxRatePercent,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      alarm(
        'LambdaThrottles',
        'Lambda throttled invocations: the account or function concurrency limit was hit.',
        {
          metric: throttles,
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        },
      ),
    ];

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'API requests and errors',
        left: [
          requests,
          props.api.metricClientError({ period: FIVE_MINUTES, statistic: 'Sum' }),
          serverErrors,
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'API latency (ms)',
        left: [
          props.api.metricLatency({ period: FIVE_MINUTES, statistic: 'p50' }),
          props.api.metricLatency({ period: FIVE_MINUTES, statistic: 'p99' }),
        ],
        width: 8,
      }),
      new GraphWidget({ title: 'API 5xx rate (%)', left: [serverErrorRate], width: 8 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Webhook queue',
        left: [
          props.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
          props.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1) }),
        ],
        width: 8,
      }),
      new GraphWidget({ title: 'Dead-letter queue', left: [dlqVisible], width: 8 }),
      new GraphWidget({
        title: 'Consumer',
        left: [
          props.consumer.metricInvocations({ period: FIVE_MINUTES }),
          consumerErrors,
          props.consumer.metricThrottles({ period: FIVE_MINUTES }),
        ],
        right: [props.consumer.metricDuration({ period: FIVE_MINUTES, statistic: 'p99' })],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Function errors',
        left: props.functions.map((fn) =>
          fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum', label: fn.node.id }),
        ),
        width: 12,
      }),
      new GraphWidget({ title: 'Lambda throttles', left: [throttles], width: 12 }),
    );
  }
}
