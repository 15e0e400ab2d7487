import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { StackNotFoundError, stackOutputs } from '../../ops/stack-outputs';

describe('stackOutputs', () => {
  it("reads the stage's stack by name and returns its outputs by key", async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand, { StackName: 'IapBackend-prod' }).resolves({
      Stacks: [
        {
          StackName: 'IapBackend-prod',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'ApiUrl', OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com/' },
            { OutputKey: 'QueueUrl', OutputValue: 'https://sqs/q' },
          ],
        },
      ],
    });
    const client = new CloudFormationClient({ region: 'eu-west-1' });
    await expect(stackOutputs('prod', 'eu-west-1', client)).resolves.toEqual({
      ApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
      QueueUrl: 'https://sqs/q',
    });
    cfn.restore();
  });

  it('names the stack and region when the stage is not deployed', async () => {
    const cfn = mockClient(CloudFormationClient);
    const missing = Object.assign(new Error('Stack with id IapBackend-qa does not exist'), {
      name: 'ValidationError',
    });
    cfn.on(DescribeStacksCommand).rejects(missing);
    const client = new CloudFormationClient({ region: 'eu-west-1' });
    const failure = stackOutputs('qa', 'eu-west-1', client);
    await expect(failure).rejects.toBeInstanceOf(StackNotFoundError);
    await expect(failure).rejects.toThrow('no stack "IapBackend-qa" in eu-west-1');
    cfn.restore();
  });
});
