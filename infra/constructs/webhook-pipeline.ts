// Attesto webhook → queue → consumer. The webhook function only enqueues; the consumer drains the
// queue in batches and reports the records it could not apply, which come back after the
// visibility timeout and move to the DLQ after maxReceiveCount receives.
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { webhookQueue } from '../resources';

/** AWS guidance for SQS event sources: visibility timeout at least six times the function timeout. */
const VISIBILITY_TO_TIMEOUT_RATIO = 6;

export class WebhookPipeline extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(webhookQueue.dlqRetentionSeconds),
      // Marks it as a dead-letter queue, which needs no dead-letter queue of its own (Control Tower
      // CT.SQS.PR.1). allowAll is what SQS does without the setting; byQueue would have to name the
      // webhook queue, whose redrive policy names this one: a cycle CloudFormation cannot create.
      redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(webhookQueue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(webhookQueue.retentionSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: webhookQueue.maxReceiveCount },
    });
  }

  /**
   * Connects the consumer. Fails synth when the queue would hand a message to a second consumer
   * while the first may still be working on it.
   */
  attachConsumer(consumer: IFunction & { timeout?: Duration }, maxConcurrency: number): SqsEventSource {
    const timeoutSeconds = consumer.timeout?.toSeconds();
    if (timeoutSeconds === undefined) throw new Error('The webhook consumer needs an explicit timeout');
    if (webhookQueue.visibilityTimeoutSeconds < VISIBILITY_TO_TIMEOUT_RATIO * timeoutSeconds) {
      throw new Error(
        `Webhook queue visibility timeout (${webhookQueue.visibilityTimeoutSeconds} s) must be at least ` +
          `${VISIBILITY_TO_TIMEOUT_RATIO}× the consumer timeout (${timeoutSeconds} s); see infra/resources.ts`,
      );
    }
    const source = new SqsEventSource(this.queue, {
      batchSize: webhookQueue.batchSize,
      maxBatchingWindow: Duration.seconds(webhookQueue.maxBatchingWindowSeconds),
      reportBatchItemFailures: true,
      maxConcurrency,
    });
    consumer.addEventSource(source);
    return source;
  }
}
