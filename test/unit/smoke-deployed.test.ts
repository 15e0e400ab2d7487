import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkAlarms, checkSecrets, PLACEHOLDER_API_KEY } from '../../ops/smoke-checks';
import { parseSmokeArgs, runSmokeCli, UsageError } from '../../ops/smoke-cli';
import { deployedTarget, REQUIRED_OUTPUTS } from '../../ops/smoke-deployed';

// The deployed target of `npm run smoke -- --stage`, with CloudFormation, CloudWatch and Secrets
// Manager mocked: no account is reachable from here, and these are the answers a real stack gives.

const OUTPUTS: Record<string, string> = {
  ApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
  WebhookUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/attesto-webhook',
  ApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ApiKey-AbCdEf',
  WebhookSecretsArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebhookSecrets-AbCdEf',
  WebhookQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q',
  WebhookDlqUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
};

const cfn = mockClient(CloudFormationClient);
const cloudWatch = mockClient(CloudWatchClient);
const secrets = mockClient(SecretsManagerClient);

afterEach(() => {
  cfn.reset();
  cloudWatch.reset();
  secrets.reset();
});

// Unit test files share one module graph: the real clients come back for the next file.
afterAll(() => {
  cfn.restore();
  cloudWatch.restore();
  secrets.restore();
});

function stackWith(outputs: Record<string, string>) {
  cfn.on(DescribeStacksCommand, { StackName: 'IapBackend-prod' }).resolves({
    Stacks: [
      {
        StackName: 'IapBackend-prod',
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
}

const alarm = (name: string) => ({
  LogicalResourceId: name,
  PhysicalResourceId: `IapBackend-prod-${name}-1A2B3C`,
  ResourceType: 'AWS::CloudWatch::Alarm',
  ResourceStatus: 'CREATE_COMPLETE' as const,
  LastUpdatedTimestamp: new Date(),
});

describe('npm run smoke -- --stage (deployed target)', () => {
  it('fails on a stack output it needs, naming it and saying to redeploy', async () => {
    for (const missing of REQUIRED_OUTPUTS) {
      const { [missing]: _, ...rest } = OUTPUTS;
      stackWith(rest);
      const out: string[] = [];
      const code = await runSmokeCli(['--stage', 'prod', '--region', 'eu-west-1'], {
        out: (l) => out.push(l),
        err: (l) => out.push(l),
        env: {},
      });
      expect(code).toBe(1);
      expect(out[0]).toBe('Smoke test of stage prod');
      expect(out[1]).toBe(
        `  ✗ stack outputs  the stack IapBackend-prod has no output ${missing}: it was deployed from an older version; deploy this one (npm run deploy -- -c stage=prod)`,
      );
      expect(out[2]).toBe('0 passed, 1 failed, 0 skipped');
      cfn.reset();
    }
  });

  it("reads the stack's own alarms and fails when one is in ALARM", async () => {
    stackWith(OUTPUTS);
    cfn.on(ListStackResourcesCommand, { StackName: 'IapBackend-prod' }).resolves({
      StackResourceSummaries: [
        alarm('MonitoringDeadLetterQueueNotEmpty'),
        alarm('MonitoringConsumerErrors'),
        { ...alarm('QueueX'), ResourceType: 'AWS::SQS::Queue' },
      ],
    });
    cloudWatch
      .on(DescribeAlarmsCommand, {
        AlarmNames: [
          'IapBackend-prod-MonitoringDeadLetterQueueNotEmpty-1A2B3C',
          'IapBackend-prod-MonitoringConsumerErrors-1A2B3C',
        ],
      })
      .resolves({
        MetricAlarms: [
          { AlarmName: 'IapBackend-prod-MonitoringDeadLetterQueueNotEmpty-1A2B3C', StateValue: 'ALARM' },
          { AlarmName: 'IapBackend-prod-MonitoringConsumerErrors-1A2B3C', StateValue: 'INSUFFICIENT_DATA' },
        ],
      });
    const target = await deployedTarget({ stage: 'prod', region: 'eu-west-1' });
    expect(await checkAlarms(target)).toEqual({
      check: 'alarms',
      status: 'fail',
      detail: '1 of 2 in ALARM: IapBackend-prod-MonitoringDeadLetterQueueNotEmpty-1A2B3C',
    });
    target.close();
  });

  it('passes when every alarm is OK or without data, and fails when the stack has none', async () => {
    stackWith(OUTPUTS);
    cfn.on(ListStackResourcesCommand).resolvesOnce({
      StackResourceSummaries: [alarm('A')],
      NextToken: 'page-2',
    });
    cfn.on(ListStackResourcesCommand, { StackName: 'IapBackend-prod', NextToken: 'page-2' }).resolves({
      StackResourceSummaries: [alarm('B')],
    });
    cloudWatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'IapBackend-prod-A-1A2B3C', StateValue: 'OK' },
        { AlarmName: 'IapBackend-prod-B-1A2B3C', StateValue: 'INSUFFICIENT_DATA' },
      ],
    });
    const target = await deployedTarget({ stage: 'prod', region: 'eu-west-1' });
    expect(await checkAlarms(target)).toMatchObject({ status: 'pass', detail: '2 alarm(s), none in ALARM' });

    cfn.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
    expect(await checkAlarms(target)).toMatchObject({ status: 'fail' });
    target.close();
  });

  it('fails while a secret is still the placeholder the stack created, never printing a value', async () => {
    stackWith(OUTPUTS);
    secrets
      .on(GetSecretValueCommand, { SecretId: OUTPUTS.WebhookSecretsArn })
      .resolves({ SecretString: JSON.stringify({ webhookSecrets: [], placeholder: 'x1' }) });
    secrets
      .on(GetSecretValueCommand, { SecretId: OUTPUTS.ApiKeySecretArn })
      .resolves({ SecretString: JSON.stringify({ attestoApiKey: PLACEHOLDER_API_KEY, placeholder: 'x2' }) });
    const target = await deployedTarget({ stage: 'prod', region: 'eu-west-1' });
    const placeholder = await checkSecrets(target);
    expect(placeholder.result.status).toBe('fail');
    expect(placeholder.result.detail).toContain('webhook secrets are still the placeholder');
    expect(placeholder.result.detail).toContain('API key is still the placeholder');

    secrets
      .on(GetSecretValueCommand, { SecretId: OUTPUTS.WebhookSecretsArn })
      .resolves({ SecretString: JSON.stringify({ webhookSecrets: ['whsec-current-value'] }) });
    secrets
      .on(GetSecretValueCommand, { SecretId: OUTPUTS.ApiKeySecretArn })
      .resolves({ SecretString: JSON.stringify({ attestoApiKey: 'attesto_live_realvalue' }) });
    const real = await checkSecrets(target);
    expect(real.result).toEqual({
      check: 'secrets set',
      status: 'pass',
      detail: '1 webhook secret(s), API key set',
    });
    expect(real.webhookSecrets).toEqual(['whsec-current-value']);
    expect(JSON.stringify(real.result)).not.toContain('realvalue');
    target.close();
  });
});

describe('parseSmokeArgs', () => {
  it('takes a stage (region from the flag, else AWS_REGION) or --local', () => {
    expect(parseSmokeArgs(['--stage', 'prod'], { AWS_REGION: 'eu-west-1' })).toEqual({
      target: { kind: 'deployed', stage: 'prod', region: 'eu-west-1' },
      timeoutSeconds: 60,
      json: false,
    });
    expect(parseSmokeArgs(['--local', '--json', '--timeout=5'])).toEqual({
      target: { kind: 'local' },
      timeoutSeconds: 5,
      json: true,
    });
  });

  it('refuses what it cannot run', () => {
    for (const argv of [
      [],
      ['--stage'],
      ['--local', '--stage', 'dev'],
      ['--stage', 'a b'],
      ['--timeout', '0', '--local'],
      ['--nope'],
    ])
      expect(() => parseSmokeArgs(argv)).toThrow(UsageError);
  });
});
