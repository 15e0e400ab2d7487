import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_REGION } from '../../dev/local/provision';
import { runDlqCli } from '../../ops/dlq-cli';
import { createQueueWithDlq, localSqsClient } from '../support/queue-with-dlq';

// `npm run dlq` against a real (emulated) queue pair, given by flags as for a deployed stack.
describe('npm run dlq -- list | redrive (fauxqs)', () => {
  const endpoint = inject('sqsEndpoint');
  const sqs = localSqsClient(endpoint);
  let queueUrl: string;
  let dlqUrl: string;

  beforeAll(async () => {
    ({ queueUrl, dlqUrl } = await createQueueWithDlq(sqs, { name: 'dlq', maxReceiveCount: 1 }));
  });
  afterAll(() => sqs.destroy());

  // The CLI builds its own client; the dummy credentials come from the environment as on a laptop.
  const env = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    Object.assign(process.env, env);
    const code = await runDlqCli([...argv, '--endpoint', endpoint, '--region', LOCAL_REGION], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env: { ...env },
    });
    return { code, out, err };
  };

  it('lists a dead-lettered webhook with its ids and first bytes, then redrives it', async () => {
    const body = JSON.stringify({
      event: 'subscription.renewed',
      eventId: 'evt_01TEST',
      padding: 'x'.repeat(300),
    });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageAttributes: {
          eventId: { DataType: 'String', StringValue: 'evt_01TEST' },
          eventType: { DataType: 'String', StringValue: 'subscription.renewed' },
        },
      }),
    );
    // Received and never deleted, more often than maxReceiveCount allows: it moves to the DLQ.
    for (let i = 0; i < 3; i++) {
      await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0, WaitTimeSeconds: 0 }),
      );
    }

    const listed = await cli('list', '--dlq-url', dlqUrl);
    expect(listed.code).toBe(0);
    expect(listed.out[0]).toBe(`1 message(s) in ${dlqUrl} (flags)`);
    expect(listed.out[1]).toMatch(/receives=\d+ {2}eventId=evt_01TEST {2}event=subscription\.renewed {2}"\{/);
    expect(listed.out[1]?.length).toBeLessThan(300);

    const redriven = await cli('redrive', '--dlq-url', dlqUrl, '--queue-url', queueUrl);
    expect(redriven.out).toEqual([`redrive: 1 moved to ${queueUrl}, 0 failed (still in the DLQ)`]);
    expect(redriven.code).toBe(0);
    expect((await cli('list', '--dlq-url', dlqUrl)).out[0]).toMatch(/^0 message/);

    const back = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    expect(back.Messages?.[0]?.Body).toBe(body);
    expect(back.Messages?.[0]?.MessageAttributes?.eventId?.StringValue).toBe('evt_01TEST');
  });

  it('refuses a redrive without a source queue with a clear message', async () => {
    const res = await cli('redrive', '--dlq-url', dlqUrl, '--api-url', 'http://127.0.0.1:9');
    expect(res.code).toBe(2);
    expect(res.err.join('\n')).toMatch(/--dlq-url and --queue-url/);
  });
});
