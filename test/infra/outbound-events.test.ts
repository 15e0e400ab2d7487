import { describe, expect, it } from 'vitest';
import { type Synthesized, statementsOf, synthStage } from './synth';

// Outbound entitlement events in the template: the bus, the stream-triggered publisher, and in a
// stage with a webhook URL the FIFO delivery queue, its DLQ, the signing secret and the alarms.

const dev = synthStage({ stage: 'dev' });
const hooked = synthStage({ stage: 'dev', eventsWebhookUrl: 'https://app.example.org/iap-events' });

const getAtt = (s: Synthesized, construct: { node: { defaultChild?: unknown } }, attribute: string) => ({
  'Fn::GetAtt': [s.logicalId(construct), attribute],
});
const actionsOf = (s: Synthesized, fn: Parameters<typeof statementsOf>[1]) =>
  statementsOf(s, fn).flatMap((st) => (Array.isArray(st.Action) ? st.Action : [st.Action]));
const envOf = (s: Synthesized, fn: { node: { defaultChild?: unknown } }) =>
  s.json.Resources[s.logicalId(fn)]?.Properties.Environment.Variables as Record<string, unknown>;
const outputIds = (s: Synthesized) => Object.keys(s.json.Outputs ?? {});

describe('outbound events: the bus and the publisher', () => {
  it('creates a custom EventBridge bus and outputs its name and ARN', () => {
    dev.template.resourceCountIs('AWS::Events::EventBus', 1);
    expect(outputIds(dev)).toEqual(expect.arrayContaining(['EventBusName', 'EventBusArn']));
    const bus = dev.stack.events.bus;
    expect(dev.json.Outputs?.EventBusArn.Value).toEqual(getAtt(dev, bus, 'Arn'));
    expect(dev.json.Outputs?.EventBusName.Value).toEqual({ Ref: dev.logicalId(bus) });
  });

  it('triggers the publisher from the outbox stream in order, with partial failures, bisecting, bounded retries and a DLQ', () => {
    dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(dev, dev.stack.tables.entitlementEvents, 'StreamArn'),
      FunctionName: { Ref: dev.logicalId(dev.stack.functions['events-publisher']) },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      ParallelizationFactor: 1,
      DestinationConfig: {
        OnFailure: { Destination: getAtt(dev, dev.stack.events.publisherDlq, 'Arn') },
      },
    });
  });

  it('lets the publisher put events on its bus only, and tells it the bus name', () => {
    const publisher = dev.stack.functions['events-publisher'];
    const puts = statementsOf(dev, publisher).filter((st) =>
      (Array.isArray(st.Action) ? st.Action : [st.Action]).includes('events:PutEvents'),
    );
    expect(puts.map((st) => st.Resource)).toEqual([getAtt(dev, dev.stack.events.bus, 'Arn')]);
    expect(envOf(dev, publisher).EVENT_BUS_NAME).toEqual({ Ref: dev.logicalId(dev.stack.events.bus) });
    expect(envOf(dev, publisher).EVENTS_DELIVERY_QUEUE_URL).toBeUndefined();
  });

  it('alarms on the publisher DLQ, publisher errors and iterator age', () => {
    const publisherRef = { Ref: dev.logicalId(dev.stack.functions['events-publisher']) };
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(dev, dev.stack.events.publisherDlq, 'QueueName') }],
      Threshold: 0,
    });
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: publisherRef }],
      Threshold: 0,
    });
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'FunctionName', Value: publisherRef }],
      Threshold: 5 * 60_000,
    });
  });

  it('without a webhook URL (the default) builds no delivery queue and no signing secret', () => {
    dev.template.resourcePropertiesCountIs('AWS::SQS::Queue', { FifoQueue: true }, 0);
    expect(dev.stack.events.webhookSecrets).toBeUndefined();
    expect(outputIds(dev)).not.toContain('EventsWebhookDlqUrl');
    expect(
      actionsOf(dev, dev.stack.functions['events-webhook'])
        .filter((a) => !a.startsWith('logs:'))
        .sort(),
    ).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });
});

describe('outbound events: signed webhooks in a stage with a webhook URL', () => {
  const queue = () =>
    hooked.stack.events.deliveryQueue as NonNullable<typeof hooked.stack.events.deliveryQueue>;
  const dlq = () => hooked.stack.events.deliveryDlq as NonNullable<typeof hooked.stack.events.deliveryDlq>;

  it('queues webhooks in a FIFO queue with explicit deduplication, dead-lettered to a FIFO DLQ after a day of attempts', () => {
    const props = hooked.json.Resources[hooked.logicalId(queue())]?.Properties;
    expect(props.FifoQueue).toBe(true);
    expect(props.ContentBasedDeduplication).toBe(false);
    // 30 s doubling to 1 h: 30+60+…+1920 = 3810 s over the first 8 attempts, then 23 more 1 h waits
    // pass 24 h (86 400 s): 31 attempts.
    expect(props.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt(hooked, dlq(), 'Arn'),
      maxReceiveCount: 31,
    });
    expect(props.MessageRetentionPeriod).toBeGreaterThan(2 * 24 * 3600);
    expect(hooked.json.Resources[hooked.logicalId(dlq())]?.Properties.FifoQueue).toBe(true);
  });

  it('feeds events-webhook one message at a time with partial failures, and lets the publisher send to the queue', () => {
    const webhook = hooked.stack.functions['events-webhook'];
    const publisher = hooked.stack.functions['events-publisher'];
    hooked.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(hooked, queue(), 'Arn'),
      FunctionName: { Ref: hooked.logicalId(webhook) },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(actionsOf(hooked, webhook)).toEqual(expect.arrayContaining(['sqs:ChangeMessageVisibility']));
    expect(actionsOf(hooked, publisher)).toEqual(expect.arrayContaining(['sqs:SendMessage']));
    expect(envOf(hooked, publisher).EVENTS_DELIVERY_QUEUE_URL).toEqual({ Ref: hooked.logicalId(queue()) });
    expect(envOf(hooked, webhook)).toEqual(
      expect.objectContaining({
        EVENTS_WEBHOOK_URL: 'https://app.example.org/iap-events',
        EVENTS_DELIVERY_QUEUE_URL: { Ref: hooked.logicalId(queue()) },
        EVENTS_WEBHOOK_SECRETS_ARN: expect.anything(),
      }),
    );
  });

  it('creates the signing secret (fail-closed placeholder) readable by events-webhook only', () => {
    const secret = hooked.stack.events.webhookSecrets as NonNullable<
      typeof hooked.stack.events.webhookSecrets
    >;
    const secretId = hooked.logicalId(secret);
    const readers = Object.entries(hooked.stack.functions)
      .filter(([, fn]) => JSON.stringify(statementsOf(hooked, fn)).includes(secretId))
      .map(([name]) => name);
    expect(readers).toEqual(['events-webhook']);
    expect(hooked.json.Resources[secretId]?.Properties.GenerateSecretString.SecretStringTemplate).toBe(
      '{"webhookSecrets":[]}',
    );
    expect(outputIds(hooked)).toEqual(
      expect.arrayContaining(['EventsWebhookQueueUrl', 'EventsWebhookDlqUrl', 'EventsWebhookSecretsArn']),
    );
  });

  it('uses an existing secret by ARN instead of creating one', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iap-events-AbCdEf';
    const imported = synthStage({
      stage: 'dev',
      eventsWebhookUrl: 'https://app.example.org/iap-events',
      eventsWebhookSecretsArn: arn,
    });
    expect(imported.stack.events.webhookSecrets?.secretArn).toBe(arn);
    imported.template.resourceCountIs('AWS::SecretsManager::Secret', 2);
  });

  it('alarms when webhooks reach their DLQ', () => {
    hooked.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(hooked, dlq(), 'QueueName') }],
      Threshold: 0,
    });
  });

  it('refuses a webhook URL that is not https', () => {
    expect(() => synthStage({ stage: 'dev', eventsWebhookUrl: 'http://app.example.org/hooks' })).toThrow(
      /events\.webhookUrl/,
    );
  });
});
