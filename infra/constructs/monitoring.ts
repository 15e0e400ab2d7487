// What should wake someone up, sent to one SNS topic: events stuck in the DLQ, a failing consumer,
// an API answering 5xx, and throttled functions. The dashboard shows the same signals with context,
// and the business metrics the functions write as EMF (shared/observability/metrics.ts).
import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from './function-factory';

export interface MonitoringProps {
  api: HttpApi;
  queue: Queue;
  deadLetterQueue: Queue;
  consumer: LambdaFunction;
  functions: LambdaFunction[];
  alarmEmail?: string;
  api5xxRatePercent: number;
  /** Outbound entitlement events: the publisher, its DLQ and, with webhooks, the delivery DLQ. */
  events?: { publisher: LambdaFunction; publisherDlq: Queue; webhookDlq?: Queue };
}

/** How far behind the outbox stream the publisher may fall before someone is told. */
const PUBLISHER_ITERATOR_AGE_MS = 5 * 60_000;

const FIVE_MINUTES = Duration.minutes(5);

/** A business metric as the functions write it: our namespace, the `service` dimension, summed. */
function businessMetric(metricName: string, dimensions: Record<string, string> = {}, label?: string) {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME, ...dimensions },
    statistic: 'Sum',
    period: FIVE_MINUTES,
    ...(label ? { label } : {}),
  });
}

/** `WebhookEvents` of one result from every store (the metric carries a `source` dimension). */
function webhookEvents(result: string, sources: string[] = ['apple', 'google']): MathExpression {
  const usingMetrics: Record<string, Metric> = {};
  // Ids are unique per graph, and several of these share one.
  const id = (source: string) => `${source}_${result}`;
  for (const source of sources)
    usingMetrics[id(source)] = businessMetric('WebhookEvents', { source, result });
  return new MathExpression({
    // A store with no event in a period has no datapoint; FILL keeps the other store's count.
    expression: sources.map((source) => `FILL(${id(source)}, 0)`).join(' + '),
    usingMetrics,
    label: result,
    period: FIVE_MINUTES,
  });
}

/** A CloudWatch dynamic label: the value of one dimension of each series. */
const dim = (name: string) => `\${PROP('Dim.${name}')}`;

/** Every series of a metric, one per dimension value seen (the label names it). */
function search(query: string, label: string): MathExpression {
  return new MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},${query}', 'Sum', ${FIVE_MINUTES.toSeconds()})`,
    label,
    period: FIVE_MINUTES,
  });
}

type AlarmFactory = (id: string, description: string, props: ConstructorParameters<typeof Alarm>[2]) => Alarm;

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
    // An alarm's metric math may combine at most 10 metrics: one throttle sum per 10 functions.
    const throttleGroups: MathExpression[] = [];
    for (let start = 0; start < props.functions.length; start += 10) {
      const throttleMetrics: Record<string, Metric> = {};
      props.functions.slice(start, start + 10).forEach((fn, i) => {
        throttleMetrics[`t${start + i}`] = fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' });
      });
      const group = throttleGroups.length + 1;
      throttleGroups.push(
        new MathExpression({
          expression: Object.keys(throttleMetrics).join(' + '),
          usingMetrics: throttleMetrics,
          label: `Lambda throttles (group ${group})`,
          period: FIVE_MINUTES,
        }),
      );
    }

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
      // The first group keeps the alarm's original name; each further group of 10 adds one.
      ...throttleGroups.map((throttles, i) =>
        alarm(
          i === 0 ? 'LambdaThrottles' : `LambdaThrottles${i + 1}`,
          'Lambda throttled invocations: the account or function concurrency limit was hit.',
          {
            metric: throttles,
            threshold: 0,
            comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: TreatMissingData.NOT_BREACHING,
          },
        ),
      ),
      ...this.eventAlarms(props, alarm),
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
      new GraphWidget({ title: 'Lambda throttles', left: throttleGroups, width: 12 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Webhook events: applied vs duplicate / stale',
        left: ['applied', 'duplicate', 'stale', 'recorded'].map((result) => webhookEvents(result)),
        right: [webhookEvents('unmatched'), webhookEvents('failed', ['apple', 'google', 'unknown'])],
        width: 8,
      }),
      new GraphWidget({
        title: 'Verifications by outcome',
        left: (['apple', 'google'] as const).flatMap((platform) =>
          (['valid', 'rejected'] as const).map((outcome) =>
            businessMetric('Verifications', { platform, outcome }, `${platform} ${outcome}`),
          ),
        ),
        width: 8,
      }),
      new GraphWidget({
        title: 'Verify rejections by code',
        left: [
          search('service,platform,code} MetricName="VerifyRejected"', `${dim('platform')} ${dim('code')}`),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Restore entries',
        left: ['Verified', 'Rejected', 'Known', 'Skipped', 'Late', 'Capped', 'Failed'].map((what) =>
          businessMetric(`RestoreEntries${what}`, {}, what.toLowerCase()),
        ),
        right: [businessMetric('RestoreAttestoCalls', {}, 'Attesto calls')],
        width: 12,
      }),
      new GraphWidget({
        title: 'Webhooks received (queued / rejected)',
        left: [
          search('service,endpoint} MetricName="WebhooksQueued"', `${dim('endpoint')} queued`),
          search('service,endpoint} MetricName="WebhooksRejected"', `${dim('endpoint')} rejected`),
        ],
        width: 12,
      }),
    );
  }

  private eventAlarms(props: MonitoringProps, alarm: AlarmFactory): Alarm[] {
    if (!props.events) return [];
    const { publisher, publisherDlq, webhookDlq } = props.events;
    const anyVisible = (queue: Queue) =>
      queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' });
    const above = (metric: Metric, threshold: number) => ({
      metric,
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    return [
      alarm(
        'EventsPublisherDeadLetters',
        'The events publisher gave up on outbox stream records (their shard and sequence range are in the publisher DLQ). See docs/events.md.',
        above(anyVisible(publisherDlq), 0),
      ),
      alarm(
        'EventsPublisherErrors',
        'The events publisher failed invocations: events wait in the outbox stream (see its log group).',
        above(publisher.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), 0),
      ),
      alarm(
        'EventsPublisherIteratorAge',
        'Entitlement events leave the outbox stream late: the publisher is failing or behind.',
        above(
          publisher.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }),
          PUBLISHER_ITERATOR_AGE_MS,
        ),
      ),
      ...(webhookDlq
        ? [
            alarm(
              'EventsWebhookDeadLetters',
              'Outbound webhooks failed for a day and wait in the DLQ. Fix the receiver, then `npm run dlq -- redrive --dlq-url … --queue-url …`.',
              above(anyVisible(webhookDlq), 0),
            ),
          ]
        : []),
    ];
  }
}
