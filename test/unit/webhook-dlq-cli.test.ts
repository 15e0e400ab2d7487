import { describe, expect, it } from 'vitest';
import { parseDlqArgs, resolveTarget, runDlqCli, UsageError } from '../../ops/dlq-cli';
import { messageBodyOf, queuedBodyText } from '../../shared/ingest/queue-message';

describe('npm run dlq: arguments', () => {
  it('takes a command and flags in both --flag value and --flag=value forms', () => {
    expect(parseDlqArgs(['list', '--dlq-url', 'https://q/dlq', '--limit=5'])).toEqual({
      command: 'list',
      flags: { 'dlq-url': 'https://q/dlq', limit: '5' },
    });
  });

  it.each([
    [[], 'a command is required'],
    [['purge'], 'unknown command "purge"'],
    [['list', '--dlq'], 'unknown argument "--dlq"'],
    [['list', '--dlq-url'], '--dlq-url needs a value'],
    [['redrive', '--queue-url', '--dlq-url', 'x'], '--queue-url needs a value'],
    [['list', '--limit', '0'], '--limit must be a positive integer'],
  ])('refuses %j with a clear message', (argv, message) => {
    expect(() => parseDlqArgs(argv)).toThrow(new UsageError(message));
  });

  it('prints the usage and exits 2 on a usage error', async () => {
    const err: string[] = [];
    const code = await runDlqCli(['nope'], { out: () => {}, err: (l) => err.push(l), env: {} });
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('usage: npm run dlq -- <list|redrive>');
  });
});

describe('npm run dlq: where the queues are', () => {
  const noRuntime = (async () => {
    throw new Error('connect ECONNREFUSED');
  }) as unknown as typeof fetch;

  it('prefers flags, then the environment', async () => {
    const env = {
      WEBHOOK_DLQ_URL: 'https://env/dlq',
      WEBHOOK_QUEUE_URL: 'https://env/q',
      AWS_REGION: 'eu-west-1',
    };
    const fromFlags = await resolveTarget(
      parseDlqArgs(['list', '--dlq-url', 'https://flag/dlq']),
      env,
      noRuntime,
    );
    expect(fromFlags).toMatchObject({
      dlqUrl: 'https://flag/dlq',
      source: 'flags',
      local: false,
      region: 'eu-west-1',
    });
    const fromEnv = await resolveTarget(parseDlqArgs(['redrive']), env, noRuntime);
    expect(fromEnv).toMatchObject({
      dlqUrl: 'https://env/dlq',
      queueUrl: 'https://env/q',
      source: 'environment',
    });
  });

  it('asks the local runtime when nothing names the queues', async () => {
    const seen: string[] = [];
    const runtime = (async (url: string) => {
      seen.push(url);
      return new Response(
        JSON.stringify({
          sqsEndpoint: 'http://127.0.0.1:9',
          region: 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          queueUrl: 'http://q',
          dlqUrl: 'http://d',
        }),
      );
    }) as unknown as typeof fetch;
    const target = await resolveTarget(parseDlqArgs(['redrive']), { PORT: '4321' }, runtime);
    expect(seen).toEqual(['http://127.0.0.1:4321/_dev/runtime']);
    expect(target).toMatchObject({
      dlqUrl: 'http://d',
      queueUrl: 'http://q',
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      local: true,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  it('says what is missing when no runtime answers', async () => {
    await expect(resolveTarget(parseDlqArgs(['redrive']), {}, noRuntime)).rejects.toThrow(
      /--dlq-url and --queue-url.*no local runtime answered at http:\/\/127\.0\.0\.1:3000\/_dev\/runtime/,
    );
  });
});

describe('queued webhook bodies', () => {
  it('travel as text when SQS accepts them, else as base64, and come back byte for byte', () => {
    const json = Buffer.from(JSON.stringify({ event: 'test', note: 'é ✓' }));
    expect(messageBodyOf(json)).toEqual({ body: json.toString('utf8'), base64: false });
    expect(queuedBodyText(Buffer.from('{"a":1}').toString('base64'), 'base64')).toBe('{"a":1}');
    expect(queuedBodyText('{"a":1}', undefined)).toBe('{"a":1}');
    for (const raw of [
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from('a\u0000b'),
      Buffer.from('bell\u0007'),
      Buffer.from('coins 😀'), // above U+FFFF: fine for SQS, refused by the local emulator
    ]) {
      const { body, base64 } = messageBodyOf(raw);
      expect(base64).toBe(true);
      expect(Buffer.from(body, 'base64').equals(raw)).toBe(true);
    }
  });
});
