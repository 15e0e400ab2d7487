import { spawnSync } from 'node:child_process';
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/constructs/function-factory';
import { buildIapBackendApp } from '../../infra/stack';
import { parseStage, placeholderSettings, resolveStageConfig } from '../../infra/stage/resolve';
import { STAGES } from '../../infra/stage/schema';
import { StageConfigError } from '../../infra/stage/stage-config-error';
import { stageConfigs } from '../../infra/stage/values';

const context = (values: Record<string, string>) => (key: string) => values[key];

describe('stage selection', () => {
  it.each(STAGES)('accepts %s', (stage) => {
    expect(parseStage(stage)).toBe(stage);
  });

  it.each([['qa'], ['Prod'], [''], [undefined], [42]])('rejects %j and lists the valid stages', (value) => {
    expect(() => parseStage(value)).toThrow(StageConfigError);
    expect(() => parseStage(value)).toThrow(/dev, staging, prod/);
    expect(() => parseStage(value)).toThrow(/-c stage=/);
  });

  it('fails the app on an unknown stage before building anything', () => {
    const app = new App({ context: { stage: 'qa' } });
    expect(() => buildIapBackendApp(app)).toThrow(/Unknown stage: got "qa"/);
    expect(app.node.children).toHaveLength(0);
  });

  it('makes `cdk synth -c stage=<unknown>` exit 1 with the message, not a stack trace', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ stage: 'qa' }) },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Pass one of dev, staging, prod');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('stage settings', () => {
  it('retains data and protects tables only in prod', () => {
    expect(stageConfigs.prod.removalPolicy).toBe(RemovalPolicy.RETAIN);
    expect(stageConfigs.prod.deletionProtection).toBe(true);
    for (const stage of ['dev', 'staging'] as const) {
      expect(stageConfigs[stage].removalPolicy).toBe(RemovalPolicy.DESTROY);
      expect(stageConfigs[stage].deletionProtection).toBe(false);
    }
  });

  it.each(STAGES)('%s passes its own validation', (stage) => {
    expect(resolveStageConfig(stage)).toEqual(stageConfigs[stage]);
  });

  it('applies context overrides, parsing lists, booleans and numbers', () => {
    const config = resolveStageConfig(
      'staging',
      context({
        authIssuer: 'https://login.example.org/',
        authAudience: 'app-ios, app-android',
        attestoUrl: 'https://attesto.internal.example.org',
        googlePackageName: 'org.example.game',
        appleBundleId: 'org.example.game',
        ownershipPolicy: 'keep',
        allowSandboxPurchases: 'false',
        billingRetryMaxDays: '7',
        productsRequireAuth: 'true',
        corsAllowOrigins: 'capacitor://localhost,https://app.example.org',
        alarmEmail: 'ops@example.org',
        consumerMaxConcurrency: '10',
        consumerReservedConcurrency: '12',
        webhookReservedConcurrency: '0',
        attestoCallsPerUser: '60',
        attestoCallWindowSeconds: '300',
        attestoApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iap/key-AbC123',
        attestoWebhookSecretsArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iap/hooks-AbC123',
      }),
    );
    expect(config).toMatchObject({
      auth: { issuer: 'https://login.example.org/', audience: ['app-ios', 'app-android'] },
      attesto: {
        url: 'https://attesto.internal.example.org',
        callLimit: { calls: 60, windowSeconds: 300 },
        existingApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iap/key-AbC123',
        existingWebhookSecretsArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iap/hooks-AbC123',
      },
      store: { googlePackageName: 'org.example.game', appleBundleId: 'org.example.game' },
      policies: {
        ownershipPolicy: 'keep',
        allowSandboxPurchases: false,
        billingRetryEntitled: true,
        billingRetryMaxDays: 7,
        productsRequireAuth: true,
      },
      corsAllowOrigins: ['capacitor://localhost', 'https://app.example.org'],
      alarms: { email: 'ops@example.org' },
      consumerMaxConcurrency: 10,
      reservedConcurrency: { webhookConsumer: 12, attestoWebhook: 0 },
    });
    expect(placeholderSettings(config)).toEqual([]);
    expect(stageConfigs.staging.auth.issuer).not.toBe('https://login.example.org/');
  });

  it.each([
    ['authIssuer', 'http://login.example.org/', 'auth.issuer'],
    ['attestoUrl', 'https://api.attesto.nossdev.com/', 'attesto.url'],
    ['attestoApiKeySecretArn', 'my-secret', 'attesto.existingApiKeySecretArn'],
    ['attestoWebhookSecretsArn', 'my-secret', 'attesto.existingWebhookSecretsArn'],
    ['attestoCallsPerUser', '0', 'attesto.callLimit.calls'],
    ['attestoCallsPerUser', 'many', 'attesto.callLimit.calls'],
    ['attestoCallWindowSeconds', '2.5', 'attesto.callLimit.windowSeconds'],
    ['webhookReservedConcurrency', '-1', 'reservedConcurrency.attestoWebhook'],
    ['consumerReservedConcurrency', '3', 'reservedConcurrency.webhookConsumer'],
    ['ownershipPolicy', 'share', 'policies.ownershipPolicy'],
    ['allowSandboxPurchases', 'yes', 'policies.allowSandboxPurchases'],
    ['consumerMaxConcurrency', '1', 'consumerMaxConcurrency'],
    ['alarmEmail', 'ops', 'alarms.email'],
    ['corsAllowOrigins', 'localhost', 'corsAllowOrigins.0'],
  ])('rejects %s=%s naming %s', (key, value, path) => {
    expect(() => resolveStageConfig('dev', context({ [key]: value }))).toThrow(StageConfigError);
    expect(() => resolveStageConfig('dev', context({ [key]: value }))).toThrow(`${path}:`);
  });

  it('states the Attesto call limit of every stage: 120 calls per user per 10 minutes', () => {
    for (const stage of STAGES) {
      expect(stageConfigs[stage].attesto.callLimit).toEqual({ calls: 120, windowSeconds: 600 });
    }
  });

  it('names the settings still at their example value', () => {
    expect(placeholderSettings(stageConfigs.dev)).toEqual([
      'auth.issuer (-c authIssuer=…)',
      'store.googlePackageName (-c googlePackageName=…)',
      'store.appleBundleId (-c appleBundleId=…)',
    ]);
  });
});
