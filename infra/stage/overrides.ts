// The context keys that override one setting of the chosen stage for one deploy
// (`cdk deploy -c stage=prod -c authIssuer=https://…`), each declared once: the setting it
// replaces and how its text is read. Lists are comma-separated.

type Reading = 'text' | 'list' | 'flag' | 'number';

export const CONTEXT_OVERRIDES = {
  authIssuer: { setting: 'auth.issuer', reading: 'text' },
  authAudience: { setting: 'auth.audience', reading: 'list' },
  attestoUrl: { setting: 'attesto.url', reading: 'text' },
  attestoApiKeySecretArn: { setting: 'attesto.existingApiKeySecretArn', reading: 'text' },
  attestoWebhookSecretsArn: { setting: 'attesto.existingWebhookSecretsArn', reading: 'text' },
  attestoCallsPerUser: { setting: 'attesto.callLimit.calls', reading: 'number' },
  attestoCallWindowSeconds: { setting: 'attesto.callLimit.windowSeconds', reading: 'number' },
  googlePackageName: { setting: 'store.googlePackageName', reading: 'text' },
  appleBundleId: { setting: 'store.appleBundleId', reading: 'text' },
  ownershipPolicy: { setting: 'policies.ownershipPolicy', reading: 'text' },
  allowSandboxPurchases: { setting: 'policies.allowSandboxPurchases', reading: 'flag' },
  billingRetryEntitled: { setting: 'policies.billingRetryEntitled', reading: 'flag' },
  billingRetryMaxDays: { setting: 'policies.billingRetryMaxDays', reading: 'number' },
  productsRequireAuth: { setting: 'policies.productsRequireAuth', reading: 'flag' },
  corsAllowOrigins: { setting: 'corsAllowOrigins', reading: 'list' },
  alarmEmail: { setting: 'alarms.email', reading: 'text' },
  consumerMaxConcurrency: { setting: 'consumerMaxConcurrency', reading: 'number' },
  historyRetentionDays: { setting: 'historyRetentionDays', reading: 'number' },
  consumerReservedConcurrency: { setting: 'reservedConcurrency.webhookConsumer', reading: 'number' },
  webhookReservedConcurrency: { setting: 'reservedConcurrency.attestoWebhook', reading: 'number' },
  appleNotifications: { setting: 'notifications.apple.enabled', reading: 'flag' },
  appleRootCertificates: { setting: 'notifications.apple.rootCertificates', reading: 'list' },
  appleEnvironments: { setting: 'notifications.apple.environments', reading: 'list' },
  appleAppAppleId: { setting: 'notifications.apple.appAppleId', reading: 'number' },
  appleOnlineChecks: { setting: 'notifications.apple.onlineChecks', reading: 'flag' },
  googleNotifications: { setting: 'notifications.google.enabled', reading: 'flag' },
  googlePushAudience: { setting: 'notifications.google.audience', reading: 'text' },
  googlePushServiceAccount: { setting: 'notifications.google.pushServiceAccount', reading: 'text' },
  eventsWebhookUrl: { setting: 'events.webhookUrl', reading: 'text' },
  eventsWebhookSecretsArn: { setting: 'events.existingWebhookSecretsArn', reading: 'text' },
  reconciliation: { setting: 'reconciliation.enabled', reading: 'flag' },
  reconcileEveryMinutes: { setting: 'reconciliation.everyMinutes', reading: 'number' },
  reconcileMaxCalls: { setting: 'reconciliation.maxCalls', reading: 'number' },
} as const satisfies Record<string, { setting: string; reading: Reading }>;

export type ContextOverride = keyof typeof CONTEXT_OVERRIDES;
type Setting = (typeof CONTEXT_OVERRIDES)[ContextOverride]['setting'];

/**
 * The single secret of earlier versions, refused by name so an old deploy command cannot silently
 * fall back to a fresh placeholder secret.
 */
export const RETIRED_OVERRIDES: Record<string, string> = {
  attestoSecretArn:
    'attestoSecretArn (one secret for the API key and the webhook secrets) was split into -c attestoApiKeySecretArn=… and -c attestoWebhookSecretsArn=…; see "Moving an existing stack to two secrets" in docs/operations.md.',
};

/** How to override `setting` on the command line, for error messages: `-c key=example`. */
export function overrideOf(setting: Setting, example = '…'): string {
  const entry = Object.entries(CONTEXT_OVERRIDES).find(([, o]) => o.setting === setting);
  if (!entry) throw new Error(`No context override sets ${setting}`);
  return `-c ${entry[0]}=${example}`;
}

const readings: Record<Reading, (value: unknown) => unknown> = {
  text: (value) => value,
  list: (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value,
  flag: (value) => (value === 'true' ? true : value === 'false' ? false : value),
  number: (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
};

/**
 * A copy of `base` with every override `readContext` returns applied, unchecked: the caller
 * validates the result as a whole. Empty values count as unset.
 */
export function applyOverrides<T extends object>(base: T, readContext: (key: string) => unknown): T {
  const merged = structuredClone(base) as Record<string, unknown>;
  for (const [key, { setting, reading }] of Object.entries(CONTEXT_OVERRIDES)) {
    const value = readContext(key);
    if (value === undefined || value === '') continue;
    const path = setting.split('.');
    const leaf = path.pop() as string;
    let node = merged;
    for (const part of path) node = node[part] as Record<string, unknown>;
    node[leaf] = readings[reading](value);
  }
  return merged as T;
}
