// Each `-c` override is declared once (infra/stage/overrides.ts): the key, the setting it
// replaces and how its text is read. These tests pin every key to its setting and its reading,
// and keep the configuration pages naming every key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/constructs/function-factory';
import { applyOverrides, CONTEXT_OVERRIDES } from '../../infra/stage/overrides';
import { stageConfigs } from '../../infra/stage/values';

// key → [the text given with -c, the setting's path, the value it must become]
const EXPECTED: Record<string, [string, string, unknown]> = {
  authIssuer: ['https://login.example.org/', 'auth.issuer', 'https://login.example.org/'],
  authAudience: ['a, b', 'auth.audience', ['a', 'b']],
  attestoUrl: ['https://attesto.example.org', 'attesto.url', 'https://attesto.example.org'],
  attestoApiKeySecretArn: ['arn:k', 'attesto.existingApiKeySecretArn', 'arn:k'],
  attestoWebhookSecretsArn: ['arn:w', 'attesto.existingWebhookSecretsArn', 'arn:w'],
  eventsWebhookUrl: ['https://app.example.org/hooks', 'events.webhookUrl', 'https://app.example.org/hooks'],
  eventsWebhookSecretsArn: ['arn:e', 'events.existingWebhookSecretsArn', 'arn:e'],
  attestoCallsPerUser: ['60', 'attesto.callLimit.calls', 60],
  attestoCallWindowSeconds: ['300', 'attesto.callLimit.windowSeconds', 300],
  googlePackageName: ['org.example.game', 'store.googlePackageName', 'org.example.game'],
  appleBundleId: ['org.example.ios', 'store.appleBundleId', 'org.example.ios'],
  ownershipPolicy: ['move', 'policies.ownershipPolicy', 'move'],
  allowSandboxPurchases: ['false', 'policies.allowSandboxPurchases', false],
  billingRetryEntitled: ['false', 'policies.billingRetryEntitled', false],
  billingRetryMaxDays: ['7', 'policies.billingRetryMaxDays', 7],
  productsRequireAuth: ['true', 'policies.productsRequireAuth', true],
  corsAllowOrigins: [
    'https://a.example,https://b.example',
    'corsAllowOrigins',
    ['https://a.example', 'https://b.example'],
  ],
  alarmEmail: ['ops@example.org', 'alarms.email', 'ops@example.org'],
  consumerMaxConcurrency: ['10', 'consumerMaxConcurrency', 10],
  historyRetentionDays: ['730', 'historyRetentionDays', 730],
  consumerReservedConcurrency: ['12', 'reservedConcurrency.webhookConsumer', 12],
  webhookReservedConcurrency: ['0', 'reservedConcurrency.attestoWebhook', 0],
  appleNotifications: ['true', 'notifications.apple.enabled', true],
  appleRootCertificates: [
    'certs/a.cer,certs/b.cer',
    'notifications.apple.rootCertificates',
    ['certs/a.cer', 'certs/b.cer'],
  ],
  appleEnvironments: ['Production,Sandbox', 'notifications.apple.environments', ['Production', 'Sandbox']],
  appleAppAppleId: ['1234567890', 'notifications.apple.appAppleId', 1234567890],
  appleOnlineChecks: ['false', 'notifications.apple.onlineChecks', false],
  googleNotifications: ['true', 'notifications.google.enabled', true],
  googlePushAudience: [
    'https://api.example.org/webhooks/google',
    'notifications.google.audience',
    'https://api.example.org/webhooks/google',
  ],
  googlePushServiceAccount: [
    'push@p.iam.gserviceaccount.com',
    'notifications.google.pushServiceAccount',
    'push@p.iam.gserviceaccount.com',
  ],
  reconciliation: ['false', 'reconciliation.enabled', false],
  reconcileEveryMinutes: ['60', 'reconciliation.everyMinutes', 60],
  reconcileMaxCalls: ['50', 'reconciliation.maxCalls', 50],
};

const at = (value: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], value);

describe('context overrides', () => {
  it('declares exactly the overrides listed here', () => {
    expect(Object.keys(CONTEXT_OVERRIDES).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))(
    '-c %s sets its setting, read as its type',
    (key, [text, path, value]) => {
      const merged = applyOverrides(stageConfigs.dev, (k) => (k === key ? text : undefined));
      expect(at(merged, path)).toEqual(value);
    },
  );

  it('ignores empty values and never changes the stage values it starts from', () => {
    const before = structuredClone(stageConfigs.dev);
    expect(applyOverrides(stageConfigs.dev, () => '')).toEqual(before);
    const merged = applyOverrides(stageConfigs.dev, () => 'true');
    expect(merged.policies.productsRequireAuth).toBe(true);
    expect(stageConfigs.dev).toEqual(before);
  });

  it('every override is documented in docs/configuration.md or docs/direct-notifications.md', () => {
    const docs = ['docs/configuration.md', 'docs/direct-notifications.md']
      .map((page) => readFileSync(join(PROJECT_ROOT, page), 'utf8'))
      .join('\n');
    const undocumented = Object.keys(EXPECTED).filter((key) => !docs.includes(`${key}=`));
    expect(undocumented).toEqual([]);
  });
});
