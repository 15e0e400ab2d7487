// A deployed stage's CloudFormation outputs (ApiUrl, queue URLs, policy ARNs …), read with the
// caller's AWS credentials, for the tools that target a deployed stack by `--stage <name>`.
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { stackName } from '../infra/stack-name';

export class StackNotFoundError extends Error {}

/** Every output of the stage's stack, by OutputKey. */
export async function stackOutputs(
  stage: string,
  region: string | undefined,
  client: CloudFormationClient = new CloudFormationClient(region ? { region } : {}),
): Promise<Record<string, string>> {
  const name = stackName(stage);
  let stacks: Stack[] | undefined;
  try {
    ({ Stacks: stacks } = await client.send(new DescribeStacksCommand({ StackName: name })));
  } catch (err) {
    if ((err as { name?: string }).name === 'ValidationError')
      throw new StackNotFoundError(
        `no stack "${name}" in ${region ?? 'the default region'}: deploy the stage first, or pass --region`,
      );
    throw err;
  }
  const outputs: Record<string, string> = {};
  for (const output of stacks?.[0]?.Outputs ?? [])
    if (output.OutputKey && output.OutputValue !== undefined) outputs[output.OutputKey] = output.OutputValue;
  return outputs;
}
