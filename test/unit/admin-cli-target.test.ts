import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAdminArgs, resolveAdminTarget, UsageError } from '../../ops/admin-cli';

// `npm run admin -- … --stage <name>`: the API of a deployed stage, found through its stack's
// ApiUrl output. CloudFormation is answered by aws-sdk-client-mock (nothing reaches AWS).

const API = 'https://abc123.execute-api.eu-west-1.amazonaws.com/';
const noLocalRuntime = (async () => {
  throw new Error('no local runtime in this test');
}) as unknown as typeof fetch;

describe('--stage: the API of a deployed stage', () => {
  const cfn = mockClient(CloudFormationClient);
  afterEach(() => cfn.reset());

  it("targets the stage's ApiUrl output in the --region given, signed with the caller's credentials", async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'IapBackend-prod' }).resolves({
      Stacks: [
        {
          StackName: 'IapBackend-prod',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'ApiUrl', OutputValue: API },
            { OutputKey: 'OperatorPolicyArn', OutputValue: 'arn:aws:iam::123456789012:policy/x' },
          ],
        },
      ],
    });
    const args = parseAdminArgs(['resync', 'tx-1', '--stage', 'prod', '--region', 'eu-west-1']);
    const target = await resolveAdminTarget(args, {}, noLocalRuntime);
    expect(target).toMatchObject({ baseUrl: API, region: 'eu-west-1', source: `stage prod (${API})` });
    expect(typeof target.credentials).toBe('function');
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(1);
    expect(await cfn.call(0).thisValue.config.region()).toBe('eu-west-1');
  });

  it('takes the region from AWS_REGION when --region is not given', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'IapBackend-qa',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'ApiUrl', OutputValue: API }],
        },
      ],
    });
    const args = parseAdminArgs(['customer', 'alice', '--stage', 'qa']);
    const target = await resolveAdminTarget(args, { AWS_REGION: 'us-east-2' }, noLocalRuntime);
    expect(target).toMatchObject({ baseUrl: API, region: 'us-east-2' });
    expect(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input).toEqual({ StackName: 'IapBackend-qa' });
  });

  it('is a usage error (exit 2) without a region, for a stage never deployed, or with --api too', async () => {
    const args = parseAdminArgs(['customer', 'alice', '--stage', 'qa']);
    await expect(resolveAdminTarget(args, {}, noLocalRuntime)).rejects.toThrow(
      new UsageError('no region for stage qa: pass --region or set AWS_REGION'),
    );
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id IapBackend-qa does not exist'), { name: 'ValidationError' }),
      );
    const missing = resolveAdminTarget(args, { AWS_REGION: 'eu-west-1' }, noLocalRuntime);
    await expect(missing).rejects.toBeInstanceOf(UsageError);
    await expect(missing).rejects.toThrow('no stack "IapBackend-qa" in eu-west-1');
    expect(() => parseAdminArgs(['customer', 'alice', '--stage', 'qa', '--api', API])).toThrow(
      'pass --api or --stage, not both',
    );
  });
});

describe('transfer and resync arguments', () => {
  it('reads a transfer: reference, --to and --reason', () => {
    expect(
      parseAdminArgs(['transfer', '2000000123', '--to', 'new-account', '--reason', 'ticket 42']),
    ).toEqual({
      command: 'transfer',
      ref: '2000000123',
      toUserId: 'new-account',
      reason: 'ticket 42',
      json: false,
    });
  });

  it('reads a resync with an optional reason', () => {
    expect(parseAdminArgs(['resync', 'GPA.1', '--json'])).toEqual({
      command: 'resync',
      ref: 'GPA.1',
      json: true,
    });
    expect(parseAdminArgs(['resync', 'GPA.1', '--reason', 'lost webhook'])).toMatchObject({
      reason: 'lost webhook',
    });
  });

  it.each([
    [['transfer'], 'transfer needs a reference'],
    [['transfer', 'tx', '--reason', 'r'], 'transfer needs --to <userId>'],
    [['transfer', 'tx', '--to', 'bob'], 'transfer needs --reason <text>'],
    [['resync'], 'resync needs a reference'],
    [['resync', 'tx', '--to', 'bob'], 'resync takes no --to'],
    [['customer', 'tx', '--to', 'bob'], 'customer takes no --to'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseAdminArgs(argv)).toThrow(new UsageError(message));
  });
});
