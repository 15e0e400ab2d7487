/** The CloudFormation stack of a stage; the tools that target a deployed stage find it by this name. */
export function stackName(stage: string): string {
  return `IapBackend-${stage}`;
}
