import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LocalResources } from '../../dev/local/provision';
import { LOCAL_REGION } from '../../dev/local/provision';
import { runDlqCli } from '../../ops/dlq-cli';
import { useLocalAws } from '../support/local-aws';
import { localSqsClient } from '../support/queue-with-dlq';

// `npm run dlq -- … --events`: the outbound webhooks' FIFO dead-letter queue, redriven into the
// FIFO delivery queue with the user's message group, and not swallowed as a duplicate of the send
// that first put the event on the queue minutes ago.
describe('npm run dlq -- list | redrive --events (fauxqs FIFO)', () => {
  const endpoint = inject('sqsEndpoint');
  const sqs = localSqsClient(endpoint);
  let resources: LocalResources;

  beforeAll(async () => {
    resources = await useLocalAws();
  });
  afterAll(() => sqs.destroy());

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const env = {
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      EVENTS_WEBHOOK_DLQ_URL: resources.eventsDlqUrl,
      EVENTS_WEBHOOK_QUEUE_URL: resources.eventsQueueUrl,
    };
    const code = await runDlqCli([...argv, '--endpoint', endpoint, '--region', LOCAL_REGION], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env,
    });
    return { code, out, err };
  };

  it('lists a dead-lettered event with its id, then moves it back to the delivery queue in its user group', async () => {
    const body = JSON.stringify({ type: 'entitlements.changed', data: { userId: 'ivy', sequence: 4 } });
    const labels = {
      eventId: { DataType: 'String', StringValue: 'evt-ivy-4' },
      eventType: { DataType: 'String', StringValue: 'entitlements.changed' },
    };
    // As the publisher sent it a moment ago, and as the delivery function gave up on it.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: resources.eventsQueueUrl,
        MessageBody: body,
        MessageGroupId: 'ivy',
        MessageDeduplicationId: 'evt-ivy-4',
        MessageAttributes: labels,
      }),
    );
    const taken = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: resources.eventsQueueUrl, WaitTimeSeconds: 1 }),
    );
    await sqs.send(
      new DeleteMessageCommand({
        QueueUrl: resources.eventsQueueUrl,
        ReceiptHandle: taken.Messages?.[0]?.ReceiptHandle as string,
      }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: resources.eventsDlqUrl,
        MessageBody: body,
        MessageGroupId: 'ivy',
        MessageDeduplicationId: 'evt-ivy-4',
        MessageAttributes: labels,
      }),
    );

    const listed = await cli('list', '--events');
    expect(listed.code).toBe(0);
    expect(listed.out.join('\n')).toContain('eventId=evt-ivy-4');

    const redriven = await cli('redrive', '--events');
    expect(redriven.err).toEqual([]);
    expect(redriven.out.join('\n')).toContain('redrive: 1 moved');
    const back = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: resources.eventsQueueUrl,
        WaitTimeSeconds: 2,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    expect(back.Messages).toHaveLength(1);
    expect(back.Messages?.[0]?.Body).toBe(body);
    expect(back.Messages?.[0]?.Attributes?.MessageGroupId).toBe('ivy');
    expect(back.Messages?.[0]?.MessageAttributes?.eventId?.StringValue).toBe('evt-ivy-4');
  });
});
