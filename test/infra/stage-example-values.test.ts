import { spawnSync } from 'node:child_process';
import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/constructs/function-factory';
import { buildIapBackendApp } from '../../infra/stack';
import { StageConfigError } from '../../infra/stage/stage-config-error';
import { CDK_JSON_CONTEXT, PROD_APP_SETTINGS } from './synth';

const EXAMPLE_VALUE_MESSAGES = [
  'auth.issuer (-c authIssuer=…) is still the example value in infra/stage/values.ts; set it before deploying.',
  'store.googlePackageName (-c googlePackageName=…) is still the example value in infra/stage/values.ts; set it before deploying.',
  'store.appleBundleId (-c appleBundleId=…) is still the example value in infra/stage/values.ts; set it before deploying.',
];

// As in synth.ts: no bundling and no built-in CloudFormation rule check, which cost seconds each.
const appWith = (context: Record<string, unknown>) =>
  new App({
    builtinCloudFormationValidation: false,
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context },
  });

describe('example values', () => {
  it('fail a prod synth, naming each setting still at its example value, before building anything', () => {
    const app = appWith({ stage: 'prod' });
    let error: unknown;
    try {
      buildIapBackendApp(app);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StageConfigError);
    for (const message of EXAMPLE_VALUE_MESSAGES) expect((error as Error).message).toContain(message);
    expect(app.node.children).toHaveLength(0);
  });

  it('fail a prod synth when only one of them is left', () => {
    const { appleBundleId: _kept, ...others } = PROD_APP_SETTINGS;
    expect(() => buildIapBackendApp(appWith({ stage: 'prod', ...others }))).toThrow(
      'store.appleBundleId (-c appleBundleId=…) is still the example value',
    );
  });

  it('make `cdk synth -c stage=prod` exit 1 with the message, not a stack trace', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ stage: 'prod' }) },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(EXAMPLE_VALUE_MESSAGES[0]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('let a prod synth with real values through', () => {
    const stack = buildIapBackendApp(appWith({ stage: 'prod', ...PROD_APP_SETTINGS }));
    expect(stack.config.auth.issuer).toBe(PROD_APP_SETTINGS.authIssuer);
  });

  it.each(['dev', 'staging'])(
    'only warn in %s, so it synthesizes out of the box',
    (stage) => {
      const stack = buildIapBackendApp(appWith({ stage }));
      const warnings = Annotations.fromStack(stack)
        .findWarning('*', Match.stringLikeRegexp('example value'))
        .map((w) => String(w.entry.data));
      for (const message of EXAMPLE_VALUE_MESSAGES)
        expect(warnings.some((w) => w.includes(message))).toBe(true);
    },
    120_000,
  );
});
