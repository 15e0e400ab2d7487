// AWS Control Tower's proactive controls, run by cfn-guard on the synthesized template (the
// binary and the rules ship in @cdklabs/cdk-validator-cfnguard, nothing is downloaded). Every
// control the stack does not meet is listed here with the reason, the one place to look;
// test/infra/control-tower-rules.test.ts fails on a finding without an exemption and on an
// exemption that no longer matches a finding.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { CfnResource, type Stack } from 'aws-cdk-lib';

export interface ControlTowerExemption {
  /** The control's id as Control Tower prints it, e.g. `CT.LAMBDA.PR.3`. */
  control: string;
  /**
   * Construct paths below the stack of the resources it covers. Omitted: every resource the control
   * checks, now and later, so only for controls that contradict a design choice of the whole stack.
   */
  resources?: string[];
  reason: string;
}

export const CONTROL_TOWER_EXEMPTIONS: ControlTowerExemption[] = [
  {
    control: 'CT.LAMBDA.PR.3',
    reason:
      'No function runs in a VPC: they call only AWS APIs (DynamoDB, SQS, Secrets Manager, CloudWatch) and Attesto over HTTPS, and there is no private resource to reach. A VPC would add a NAT gateway per availability zone (for Attesto) or interface endpoints, and network interfaces to every cold start, without protecting anything.',
  },
  {
    control: 'CT.LAMBDA.PR.2',
    reason:
      "Every function permission is for apigateway.amazonaws.com with a SourceArn limited to this API's route. The stack is account-agnostic, so that ARN is an Fn::Join of the partition, region and account, which the rule cannot read (it accepts only a literal string or a plain Ref/GetAtt); a literal account id would tie the template to one account.",
  },
  {
    control: 'CT.APIGATEWAY.PR.5',
    resources: ['HttpApi/Api/GET--api--iap--products/Resource', 'HttpApi/Api/POST--attesto-webhook/Resource'],
    reason:
      'The public routes, as acknowledged for cdk-nag AwsSolutions-APIG4: the product catalog carries no user data (a stage can protect it with productsRequireAuth), and the Attesto webhook is authenticated by its Standard Webhooks signature, checked in the function before anything is queued.',
  },
  {
    control: 'CT.CLOUDWATCH.PR.2',
    reason:
      "Log retention is a stage setting (logRetention in infra/stage/values.ts: a week in dev, a month in staging, six months in prod), kept short on purpose: logs hold user ids, and a customer's erasure cannot reach them, so they should not outlive their use for debugging. The lasting record of every purchase change is the history table, not the logs. Set logRetention to a year or more where policy requires it.",
  },
  {
    control: 'CT.CLOUDWATCH.PR.3',
    reason:
      'CloudWatch Logs always encrypts log data at rest, with keys AWS manages. A customer-managed KMS key would add a key policy for the logs service, a monthly key cost and a way to make every log unreadable by disabling one key, while the people who can read the logs are the same (IAM decides). Secrets never reach the logs (test/e2e/hard-cases-log-capture.test.ts).',
  },
];

const packageRoot = dirname(
  createRequire(import.meta.url).resolve('@cdklabs/cdk-validator-cfnguard/package.json'),
);
const RULES_DIR = join(packageRoot, 'rules', 'control-tower', 'cfn-guard');

/** `CT.SQS.PR.1` → `ct-sqs-pr-1`, the rule file's name, which the plugin disables by. */
export function ruleFileOf(control: string): string {
  return control.toLowerCase().replaceAll('.', '-');
}

function guardFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? guardFiles(join(dir, entry.name))
      : entry.name.endsWith('.guard')
        ? [join(dir, entry.name)]
        : [],
  );
}

/**
 * The rule files that check a resource type the stack has. A rule about another type can never
 * fire, and loading all ~240 rules makes every synth seconds slower.
 */
export function controlTowerRulesFor(stack: Stack): string[] {
  const types = new Set(
    stack.node
      .findAll()
      .filter(CfnResource.isCfnResource)
      .map((r) => r.cfnResourceType),
  );
  return guardFiles(RULES_DIR).filter((file) => {
    const text = readFileSync(file, 'utf8');
    return [...types].some((type) => text.includes(`"${type}"`));
  });
}

/**
 * The Control Tower controls as a policy validation plugin: `cdk synth` fails on a finding. A
 * plugin can only disable a control as a whole, so `cdk synth` skips every exempted control; the
 * test holds the per-resource exemptions to their resources.
 */
export function controlTowerValidator(
  stack: Stack,
  { applyExemptions = true }: { applyExemptions?: boolean } = {},
): CfnGuardValidator {
  const disabled = applyExemptions ? CONTROL_TOWER_EXEMPTIONS.map((e) => ruleFileOf(e.control)) : [];
  const rules = controlTowerRulesFor(stack).filter(
    (file) => !disabled.some((d) => file.endsWith(`/${d}.guard`)),
  );
  return new CfnGuardValidator({ controlTowerRulesEnabled: false, rules, maxBuffer: 64 * 1024 * 1024 });
}

/** The bundled cfn-guard runs on Linux and macOS (x64, arm64) only. */
export function controlTowerSupported(): boolean {
  const platform = process.platform === 'darwin' ? 'macos' : process.platform === 'linux' ? 'ubuntu' : '';
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : '';
  return platform !== '' && arch !== '' && existsSync(join(packageRoot, 'bin', platform, arch, 'cfn-guard'));
}
