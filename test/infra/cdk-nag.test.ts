import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildIapBackendApp } from '../../infra/stack';
import { CDK_JSON_CONTEXT, PROD_APP_SETTINGS } from './synth';

interface Violation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
}

/**
 * Synthesizes with the AwsSolutions plugin and returns what it reported. `cloudFormationRules`
 * also runs CDK's built-in CloudFormation checks, as `cdk synth` does, with findings as errors.
 */
function nagFindings(
  stage: string,
  cloudFormationRules = false,
  overrides: Record<string, string> = {},
): { threw: boolean; violations: Violation[] } {
  const app = new App({
    builtinCloudFormationValidation: cloudFormationRules,
    context: {
      ...CDK_JSON_CONTEXT,
      stage,
      ...(stage === 'prod' ? PROD_APP_SETTINGS : {}),
      ...overrides,
      'aws:cdk:bundling-stacks': [],
    },
  });
  buildIapBackendApp(app);
  let threw = false;
  try {
    app.synth();
  } catch (error) {
    if ((error as Error).name !== 'ValidationFailed') throw error;
    threw = true;
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName: string; violations: Violation[] }[];
  };
  // With @aws-cdk/core:annotationsInValidationReport the stack's own warnings (example values in
  // dev) are listed too, as warnings that do not fail synth; they are checked in their own test.
  const checks = report.pluginReports.filter((r) => r.pluginName !== 'Construct Annotations');
  return { threw, violations: checks.flatMap((r) => r.violations) };
}

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['dev', true],
    ['prod', false],
  ])(
    '%s: zero unacknowledged findings (built-in CloudFormation rules too: %s)',
    (stage, cloudFormationRules) => {
      const { threw, violations } = nagFindings(stage, cloudFormationRules);
      expect(violations.map((v) => `${v.ruleName} @ ${v.violatingConstructs[0]?.constructPath}`)).toEqual([]);
      expect(threw).toBe(false);
    },
    // The built-in rule check alone takes ~9 s on an idle machine; shared cores stretch it.
    120_000,
  );

  it('prod with outbound webhooks (FIFO queues, signing secret): zero unacknowledged findings', () => {
    const { threw, violations } = nagFindings('prod', false, {
      eventsWebhookUrl: 'https://app.example.org/iap-events',
    });
    expect(violations.map((v) => `${v.ruleName} @ ${v.violatingConstructs[0]?.constructPath}`)).toEqual([]);
    expect(threw).toBe(false);
  });

  it('every acknowledgement is needed, specific and explained', () => {
    const acknowledged: { id: string; reason: string }[] = [];
    const prototype = Object.getPrototypeOf(Validations.of(new App()));
    const original = prototype.acknowledge;
    prototype.acknowledge = (ack: { id: string; reason: string }) => {
      acknowledged.push(ack);
    };
    let found: Violation[];
    try {
      found = nagFindings('dev').violations;
    } finally {
      prototype.acknowledge = original;
    }
    const ids = new Set(acknowledged.map((a) => a.id));
    // Without the acknowledgements each one is hit, and nothing else is.
    expect(new Set(found.map((v) => v.ruleName))).toEqual(ids);
    for (const ack of acknowledged) expect(ack.reason.length, ack.id).toBeGreaterThan(60);
    // Wildcard-heavy rules are acknowledged per finding, never as a whole rule.
    expect(ids).not.toContain('AwsSolutions-IAM5');
    expect(ids).not.toContain('AwsSolutions-IAM4');
    // The public routes are exactly the webhook and the catalog.
    const unauthorized = found.filter((v) => v.ruleName === 'AwsSolutions-APIG4');
    expect(unauthorized.flatMap((v) => v.violatingConstructs.map((c) => c.constructPath)).sort()).toEqual([
      'IapBackend-dev/HttpApi/Api/GET--api--iap--products/Resource',
      'IapBackend-dev/HttpApi/Api/POST--attesto-webhook/Resource',
    ]);
  });
});
