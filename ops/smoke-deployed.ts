// The smoke target for a deployed stage, reached with the operator's AWS credentials: the stack's
// outputs say where the API, the queues and the secrets are; its alarms are the CloudWatch alarms
// CloudFormation created for it.
import {
  CloudFormationClient,
  ListStackResourcesCommand,
  type ListStackResourcesCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { stackName } from '../infra/stack-name';
import type { AlarmState, QueueName, SmokeTarget, TargetSecrets } from './smoke-checks';
import { queueDepthOf } from './smoke-local';
import { stackOutputs } from './stack-outputs';

/** The outputs the checks read (infra/stack.ts). */
export const REQUIRED_OUTPUTS = [
  'ApiUrl',
  'WebhookUrl',
  'ApiKeySecretArn',
  'WebhookSecretsArn',
  'WebhookQueueUrl',
  'WebhookDlqUrl',
] as const;

export class MissingOutputError extends Error {}

export interface DeployedClients {
  cloudFormation: CloudFormationClient;
  cloudWatch: CloudWatchClient;
  secretsManager: SecretsManagerClient;
  sqs: SQSClient;
}

export function deployedClients(region: string | undefined): DeployedClients {
  const config = region ? { region } : {};
  return {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    secretsManager: new SecretsManagerClient(config),
    sqs: new SQSClient(config),
  };
}

async function secretJson(client: SecretsManagerClient, arn: string): Promise<Record<string, unknown>> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  try {
    return JSON.parse(SecretString ?? '') as Record<string, unknown>;
  } catch {
    // Never echo the value: it may be a real key stored in the wrong shape.
    throw new Error(`the secret ${arn} is not JSON`);
  }
}

async function stackAlarmNames(client: CloudFormationClient, stack: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page: ListStackResourcesCommandOutput = await client.send(
      new ListStackResourcesCommand({ StackName: stack, ...(token ? { NextToken: token } : {}) }),
    );
    for (const r of page.StackResourceSummaries ?? [])
      if (r.ResourceType === 'AWS::CloudWatch::Alarm' && r.PhysicalResourceId)
        names.push(r.PhysicalResourceId);
    token = page.NextToken;
  } while (token);
  return names;
}

async function alarmStates(client: CloudWatchClient, names: string[]): Promise<AlarmState[]> {
  const states: AlarmState[] = [];
  // DescribeAlarms takes at most 100 names per call.
  for (let i = 0; i < names.length; i += 100) {
    let token: string | undefined;
    do {
      const page = await client.send(
        new DescribeAlarmsCommand({
          AlarmNames: names.slice(i, i + 100),
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])])
        states.push({ name: a.AlarmName ?? '?', state: a.StateValue ?? 'UNKNOWN' });
      token = page.NextToken;
    } while (token);
  }
  return states;
}

export async function deployedTarget(
  options: { stage: string; region: string | undefined },
  clients: DeployedClients = deployedClients(options.region),
): Promise<SmokeTarget & { close(): void }> {
  const stack = stackName(options.stage);
  const outputs = await stackOutputs(options.stage, options.region, clients.cloudFormation);
  const missing = REQUIRED_OUTPUTS.filter((key) => !outputs[key]);
  if (missing.length)
    throw new MissingOutputError(
      `the stack ${stack} has no output ${missing.join(', ')}: it was deployed from an older version; deploy this one (npm run deploy -- -c stage=${options.stage})`,
    );
  const out = outputs as Record<(typeof REQUIRED_OUTPUTS)[number], string>;
  const queues: Record<QueueName, string> = { queue: out.WebhookQueueUrl, dlq: out.WebhookDlqUrl };
  return {
    description: `stage ${options.stage} (${stack}${options.region ? `, ${options.region}` : ''})`,
    apiUrl: out.ApiUrl.replace(/\/+$/, ''),
    webhookUrl: out.WebhookUrl,
    async secrets(): Promise<TargetSecrets> {
      const [webhook, apiKey] = await Promise.all([
        secretJson(clients.secretsManager, out.WebhookSecretsArn),
        secretJson(clients.secretsManager, out.ApiKeySecretArn),
      ]);
      const list = Array.isArray(webhook.webhookSecrets) ? webhook.webhookSecrets : [];
      return {
        webhookSecrets: list.filter((s): s is string => typeof s === 'string'),
        apiKey: typeof apiKey.attestoApiKey === 'string' ? apiKey.attestoApiKey : '',
      };
    },
    queueDepth: (queue) => queueDepthOf(clients.sqs, queues[queue]),
    async alarms() {
      return alarmStates(clients.cloudWatch, await stackAlarmNames(clients.cloudFormation, stack));
    },
    close() {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}
