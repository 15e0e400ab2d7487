// Outbound entitlement events: the outbox table's stream → the events-publisher Lambda → the
// EventBridge bus, and, in a stage with a webhook URL, → a FIFO delivery queue (one message group
// per user) → the events-webhook Lambda → the app. A stream-triggered Lambda rather than
// EventBridge Pipes: one Pipe has one target, and the FIFO queue needs the user as its group id,
// which the publisher sets per record (docs/events.md "How events leave").
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable, ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { attemptsToCover } from '../../shared/events/retry-schedule';
import { functions, timeoutSecondsOf } from '../functions';
import { PUBLISHER_STREAM } from '../resources';
import type { EventSettings } from '../stage/schema';
import type { ProductFunction } from './function-factory';

/** AWS guidance for SQS event sources: visibility timeout at least six times the function timeout. */
const DELIVERY_VISIBILITY = Duration.seconds(6 * timeoutSecondsOf(functions['events-webhook']));

/** Longer than the day of retries, so no event expires while it is still being retried. */
const DELIVERY_RETENTION = Duration.days(4);
const DLQ_RETENTION = Duration.days(14);

export interface OutboundEventsProps {
  /** The entitlement-events (outbox) table, streamed with NEW_IMAGE. */
  outbox: ITableV2;
  settings: EventSettings;
  removalPolicy: RemovalPolicy;
}

export class OutboundEvents extends Construct {
  readonly bus: EventBus;
  /** Descriptions of stream batches the publisher gave up on (shard, sequence range). */
  readonly publisherDlq: Queue;
  readonly deliveryQueue?: Queue;
  readonly deliveryDlq?: Queue;
  readonly webhookSecrets?: ISecret;
  readonly webhookUrl?: string;
  private readonly outbox: ITableV2;

  constructor(scope: Construct, id: string, props: OutboundEventsProps) {
    super(scope, id);
    this.outbox = props.outbox;
    this.bus = new EventBus(this, 'Bus', {
      description: 'iap-backend entitlements.changed events, one per change of a user entitlement set',
    });
    this.publisherDlq = new Queue(this, 'PublisherDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DLQ_RETENTION,
      // Marks it as a dead-letter queue, which needs none of its own (Control Tower CT.SQS.PR.1).
      redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
    });
    Validations.of(this.publisherDlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the on-failure destination of the publisher stream mapping: it is a dead-letter queue.',
    });
    const { webhookUrl, existingWebhookSecretsArn } = props.settings;
    if (!webhookUrl) return;
    this.webhookUrl = webhookUrl;
    this.deliveryDlq = new Queue(this, 'WebhookDeadLetterQueue', {
      fifo: true,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DLQ_RETENTION,
      redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
    });
    this.deliveryQueue = new Queue(this, 'WebhookQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: DELIVERY_VISIBILITY,
      retentionPeriod: DELIVERY_RETENTION,
      // Every attempt is one receive: enough of them that the backoff spans a whole day.
      deadLetterQueue: { queue: this.deliveryDlq, maxReceiveCount: attemptsToCover() },
    });
    this.webhookSecrets = existingWebhookSecretsArn
      ? Secret.fromSecretCompleteArn(this, 'WebhookSecretsImported', existingWebhookSecretsArn)
      : this.createdSecret(props.removalPolicy);
  }

  /** A placeholder that fails closed: no delivery is signed until a whsec_ secret is put in. */
  private createdSecret(removalPolicy: RemovalPolicy): ISecret {
    const secret = new Secret(this, 'WebhookSecrets', {
      description:
        'iap-backend outbound webhook signing secrets, read by events-webhook only. Replace the value with ' +
        '{"webhookSecrets":["whsec_<base64 of 24+ random bytes>","<previous, during rotation>"]} (aws secretsmanager ' +
        'put-secret-value) and give the same secret to your receiver. Re-read within 5 minutes.',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ webhookSecrets: [] }),
        generateStringKey: 'placeholder',
        excludePunctuation: true,
      },
      removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The receiver must hold the same value, so rotation is a coordinated manual step; it is lossless because two secrets sign at once during a rotation.',
    });
    return secret;
  }

  /** The stream → publisher mapping, in order per shard, with partial failures, bisecting and a DLQ. */
  attachPublisher(
    publisher: IFunction & { addEnvironment(k: string, v: string): unknown },
  ): DynamoEventSource {
    const source = new DynamoEventSource(this.outboxTable, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: PUBLISHER_STREAM.batchSize,
      bisectBatchOnError: true,
      retryAttempts: PUBLISHER_STREAM.retryAttempts,
      reportBatchItemFailures: true,
      parallelizationFactor: 1,
      onFailure: new SqsDlq(this.publisherDlq),
    });
    publisher.addEventSource(source);
    this.bus.grantPutEventsTo(publisher);
    publisher.addEnvironment('EVENT_BUS_NAME', this.bus.eventBusName);
    if (this.deliveryQueue) {
      this.deliveryQueue.grantSendMessages(publisher);
      publisher.addEnvironment('EVENTS_DELIVERY_QUEUE_URL', this.deliveryQueue.queueUrl);
    }
    return source;
  }

  /** The delivery queue → webhook function, one message per invocation so retries never hold back others. */
  attachWebhook(webhook: ProductFunction): SqsEventSource {
    const queue = this.deliveryQueue;
    if (!queue || !this.webhookUrl || !this.webhookSecrets)
      throw new Error('No webhook URL is configured for this stage');
    webhook.bindSecretRead(this.webhookSecrets, 'eventsWebhookSecrets');
    const source = new SqsEventSource(queue, { batchSize: 1, reportBatchItemFailures: true });
    webhook.addEventSource(source);
    webhook.addEnvironment('EVENTS_WEBHOOK_URL', this.webhookUrl);
    webhook.addEnvironment('EVENTS_DELIVERY_QUEUE_URL', queue.queueUrl);
    return source;
  }

  // DynamoEventSource is typed for Table; a TableV2 offers the same stream ARN and grants.
  private get outboxTable(): ITable {
    return this.outbox as unknown as ITable;
  }
}
