import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../dev/local/provision';

/** An SQS client for the local emulator (queue URLs are not endpoints there). */
export function localSqsClient(endpoint: string | undefined): SQSClient {
  return new SQSClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    useQueueUrlAsEndpoint: false,
  });
}

export interface QueueWithDlq {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
}

async function queueArnOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  return Attributes?.QueueArn as string;
}

/**
 * A queue like the webhook queue, but quick to test with: its own random name, an optional short
 * visibility timeout, and a dead-letter queue after `maxReceiveCount` receives.
 */
export async function createQueueWithDlq(
  sqs: SQSClient,
  options: { name: string; maxReceiveCount: number; visibilityTimeoutSeconds?: number },
): Promise<QueueWithDlq> {
  const prefix = `${options.name}${randomUUID().slice(0, 8)}`;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-dlq` }))).QueueUrl as string;
  const queueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: prefix,
        Attributes: {
          ...(options.visibilityTimeoutSeconds === undefined
            ? {}
            : { VisibilityTimeout: String(options.visibilityTimeoutSeconds) }),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: await queueArnOf(sqs, dlqUrl),
            maxReceiveCount: options.maxReceiveCount,
          }),
        },
      }),
    )
  ).QueueUrl as string;
  return { queueUrl, queueArn: await queueArnOf(sqs, queueUrl), dlqUrl };
}
