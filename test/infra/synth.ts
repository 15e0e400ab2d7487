// Builds the real app the way `cdk synth` does, minus esbuild (bundling is exercised once in
// bundling.test.ts), and small lookups into the template that several test files share.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PROJECT_ROOT } from '../../infra/constructs/function-factory';
import { buildIapBackendApp, type IapBackendStack } from '../../infra/stack';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are free-form JSON; the tests assert their shape
export type CfnJson = any;

export interface Synthesized {
  app: App;
  stack: IapBackendStack;
  template: Template;
  /** Raw template JSON for walks the assertion helpers do not cover. */
  json: {
    Resources: Record<
      string,
      {
        Type: string;
        Properties?: CfnJson;
        DeletionPolicy?: string;
        UpdateReplacePolicy?: string;
        DependsOn?: string[];
      }
    >;
    Outputs?: Record<string, CfnJson>;
  };
  logicalId(construct: { node: { defaultChild?: unknown } }): string;
}

/**
 * cdk.json's context, feature flags included: `new App()` in a test does not read cdk.json, and
 * without the flags a test would check a different template than `cdk synth` produces.
 */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8'),
).context;

export function synthStage(context: Record<string, unknown>): Synthesized {
  // CDK's built-in CloudFormation rule check costs ~9 s per process; cdk-nag.test.ts runs it once.
  const app = new App({
    builtinCloudFormationValidation: false,
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context },
  });
  const stack = buildIapBackendApp(app);
  const template = Template.fromStack(stack);
  return {
    app,
    stack,
    template,
    json: template.toJSON() as Synthesized['json'],
    logicalId: (construct) => stack.getLogicalId(construct.node.defaultChild as never),
  };
}

export interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
}

/** All statements of the policies attached to a function's role. */
export function statementsOf(
  s: Synthesized,
  fn: { role?: { node: { defaultChild?: unknown } } },
): Statement[] {
  if (!fn.role) throw new Error('function without role');
  const roleId = s.logicalId(fn.role);
  return Object.values(s.json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) => (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[]);
}

export const actionsOf = (statements: Statement[]): string[] =>
  statements.flatMap((st) => (Array.isArray(st.Action) ? st.Action : [st.Action]));

/** Logical ids a statement's resources point at (Ref or GetAtt, also inside Fn::Join). */
export function referencedIds(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string') return [o.Ref];
    if (Array.isArray(o['Fn::GetAtt'])) return [String(o['Fn::GetAtt'][0])];
    return Object.values(o).flatMap(referencedIds);
  }
  return [];
}

/**
 * The settings a prod synth needs besides the stage: prod refuses the example issuer, bundle id
 * and package name, so tests pass values shaped like a real app's.
 */
export const PROD_APP_SETTINGS = {
  authIssuer: 'https://login.example.org/',
  appleBundleId: 'org.example.game',
  googlePackageName: 'org.example.game',
} as const;
