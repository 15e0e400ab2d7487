import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { functions } from '../../infra/functions';
import { buildIapBackendApp } from '../../infra/stack';
import { appleRootCertificatesValue } from '../../infra/stage/apple-roots';
import { resolveStageConfig } from '../../infra/stage/resolve';
import { StageConfigError } from '../../infra/stage/stage-config-error';
import { appleTestPki } from '../support/apple-test-pki';
import { actionsOf, PROD_APP_SETTINGS, referencedIds, statementsOf, synthStage } from './synth';

// The direct store endpoints in the stack: routed only where a stage enables them, public (no
// JWT authorizer), allowed to send to the queue and nothing else, and configured from the stage.

const dir = mkdtempSync(join(tmpdir(), 'apple-roots-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rootDer = appleTestPki().rootDer;
const derFile = join(dir, 'AppleRootCA-Test.cer');
const pemFile = join(dir, 'AppleRootCA-Test.pem');
writeFileSync(derFile, rootDer);
writeFileSync(
  pemFile,
  `-----BEGIN CERTIFICATE-----\n${rootDer.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`,
);
const PUSH_ACCOUNT = 'rtdn-push@example-project.iam.gserviceaccount.com';

const enabled = {
  appleNotifications: 'true',
  appleRootCertificates: derFile,
  googleNotifications: 'true',
  googlePushServiceAccount: PUSH_ACCOUNT,
};
const off = synthStage({ stage: 'dev' });
const on = synthStage({ stage: 'dev', ...enabled });

type Synth = typeof on;
const routes = (s: Synth) =>
  new Map(
    Object.values(s.json.Resources)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map((r) => [r.Properties.RouteKey as string, r.Properties]),
  );
const variablesOf = (s: Synth, name: 'apple-notifications' | 'google-notifications') =>
  s.json.Resources[s.logicalId(s.stack.functions[name])]?.Properties.Environment.Variables as Record<
    string,
    unknown
  >;

describe('direct store notification routes', () => {
  it('are not routed unless the stage enables them', () => {
    const keys = [...routes(off).keys()];
    expect(keys.filter((k) => k.includes('/webhooks/'))).toEqual([]);
    expect(Object.keys(off.json.Outputs ?? {})).not.toContain('AppleNotificationsUrl');
    expect(variablesOf(off, 'apple-notifications').APPLE_ROOT_CERTIFICATES).toBeUndefined();
  });

  it.each([
    ['POST /webhooks/apple', 'apple-notifications'],
    ['POST /webhooks/google', 'google-notifications'],
  ] as const)('%s → %s, without the JWT authorizer', (key, fn) => {
    const props = routes(on).get(key);
    expect(props).toBeDefined();
    expect(props?.AuthorizationType ?? 'NONE').toBe('NONE');
    expect(props?.AuthorizerId).toBeUndefined();
    const integration = on.json.Resources[referencedIds(props?.Target)[0] ?? ''];
    expect(referencedIds(integration?.Properties.IntegrationUri)).toEqual([
      on.logicalId(on.stack.functions[fn]),
    ]);
  });

  it('can enable one store without the other', () => {
    const appleOnly = synthStage({
      stage: 'dev',
      appleNotifications: 'true',
      appleRootCertificates: pemFile,
    });
    const keys = [...routes(appleOnly).keys()];
    expect(keys).toContain('POST /webhooks/apple');
    expect(keys).not.toContain('POST /webhooks/google');
  });

  it('passes cdk-nag with both routes on: each public route is acknowledged with its own reason', () => {
    const app = new App({
      builtinCloudFormationValidation: false,
      context: { stage: 'dev', 'aws:cdk:bundling-stacks': [], ...enabled },
    });
    buildIapBackendApp(app);
    app.synth();
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string }[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations.map((v) => v.ruleName))).toEqual([]);
  });

  it('outputs the URLs to give the stores', () => {
    const outputs = on.json.Outputs ?? {};
    expect(JSON.stringify(outputs.AppleNotificationsUrl.Value)).toContain('webhooks/apple');
    expect(JSON.stringify(outputs.GoogleNotificationsUrl.Value)).toContain('webhooks/google');
  });
});

describe('direct store notification functions', () => {
  const queueId = on.logicalId(on.stack.pipeline.queue);

  it.each(['apple-notifications', 'google-notifications'] as const)(
    '%s may only send to the webhook queue: no table, no secret',
    (name) => {
      expect(functions[name]).toMatchObject({ tables: {}, sendsToQueue: true });
      expect(functions[name].secrets).toBeUndefined();
      const statements = statementsOf(on, on.stack.functions[name]);
      const actions = actionsOf(statements);
      expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
      expect(actions.filter((a) => a.startsWith('secretsmanager:') || a.startsWith('kms:'))).toEqual([]);
      const sqsStatements = statements.filter((st) => actionsOf([st]).some((a) => a.startsWith('sqs:')));
      expect(actionsOf(sqsStatements)).toContain('sqs:SendMessage');
      expect(actionsOf(sqsStatements)).not.toContain('sqs:ReceiveMessage');
      for (const st of sqsStatements) expect(referencedIds(st.Resource)).toEqual([queueId]);
      const variables = variablesOf(on, name);
      expect(referencedIds(variables.WEBHOOK_QUEUE_URL)).toEqual([queueId]);
      for (const absent of [
        'ATTESTO_API_KEY_SECRET_ARN',
        'ATTESTO_WEBHOOK_SECRETS_ARN',
        'PURCHASES_TABLE',
        'USER_IDS_TABLE',
        'PROCESSED_EVENTS_TABLE',
      ])
        expect(variables[absent], absent).toBeUndefined();
    },
  );

  it('gives the Apple function the roots as base64 DER, environments, online checks and the bundle id', () => {
    const variables = variablesOf(on, 'apple-notifications');
    expect(variables).toMatchObject({
      APPLE_ROOT_CERTIFICATES: rootDer.toString('base64'),
      APPLE_ENVIRONMENTS: 'Sandbox',
      APPLE_ONLINE_CHECKS: 'true',
      APPLE_BUNDLE_ID: 'com.example.app',
    });
    expect(variables.APPLE_APP_APPLE_ID).toBeUndefined();
    expect(variablesOf(on, 'google-notifications').APPLE_ROOT_CERTIFICATES).toBeUndefined();
  });

  it('gives the Google function the push audience (default: the endpoint URL) and service account', () => {
    const variables = variablesOf(on, 'google-notifications');
    expect(variables.GOOGLE_PUSH_SERVICE_ACCOUNT).toBe(PUSH_ACCOUNT);
    expect(variables.GOOGLE_PACKAGE_NAME).toBe('com.example.app');
    const audience = JSON.stringify(variables.GOOGLE_PUSH_AUDIENCE);
    expect(audience).toContain('webhooks/google');
    expect(referencedIds(variables.GOOGLE_PUSH_AUDIENCE)).toContain(on.logicalId(on.stack.httpApi.api));
    expect(variablesOf(on, 'apple-notifications').GOOGLE_PUSH_AUDIENCE).toBeUndefined();

    const custom = synthStage({
      stage: 'dev',
      ...enabled,
      googlePushAudience: 'https://iap.example.org/webhooks/google',
    });
    expect(variablesOf(custom, 'google-notifications').GOOGLE_PUSH_AUDIENCE).toBe(
      'https://iap.example.org/webhooks/google',
    );
  });

  it('accepts Production in prod with the app Apple ID, online checks on', () => {
    const prod = synthStage({
      stage: 'prod',
      ...PROD_APP_SETTINGS,
      ...enabled,
      appleAppAppleId: '1234567890',
    });
    expect(variablesOf(prod, 'apple-notifications')).toMatchObject({
      APPLE_ENVIRONMENTS: 'Production',
      APPLE_APP_APPLE_ID: '1234567890',
      APPLE_ONLINE_CHECKS: 'true',
    });
  });
});

describe('direct store notification settings', () => {
  const ctx = (values: Record<string, string>) => (key: string) => values[key];
  const build = (context: Record<string, string>) => () =>
    buildIapBackendApp(new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } }));

  it('refuses an enabled Apple route without root certificates, saying where to get them', () => {
    expect(() => resolveStageConfig('dev', ctx({ appleNotifications: 'true' }))).toThrow(StageConfigError);
    expect(() => resolveStageConfig('dev', ctx({ appleNotifications: 'true' }))).toThrow(
      /rootCertificates.*apple\.com\/certificateauthority.*-c appleRootCertificates=/s,
    );
  });

  it('requires the app Apple ID for Production and online checks in prod', () => {
    expect(() =>
      resolveStageConfig('prod', ctx({ appleNotifications: 'true', appleRootCertificates: derFile })),
    ).toThrow(/appAppleId/);
    expect(() =>
      resolveStageConfig(
        'prod',
        ctx({
          appleNotifications: 'true',
          appleRootCertificates: derFile,
          appleAppAppleId: '1234567890',
          appleOnlineChecks: 'false',
        }),
      ),
    ).toThrow(/onlineChecks/);
    expect(() => resolveStageConfig('dev', ctx({ appleEnvironments: 'Production,Staging' }))).toThrow(
      /environments/,
    );
  });

  it('refuses an enabled Google route without the push service account, or a non-https audience', () => {
    expect(() => resolveStageConfig('dev', ctx({ googleNotifications: 'true' }))).toThrow(
      /pushServiceAccount/,
    );
    expect(() =>
      resolveStageConfig(
        'dev',
        ctx({
          googleNotifications: 'true',
          googlePushServiceAccount: PUSH_ACCOUNT,
          googlePushAudience: 'iap',
        }),
      ),
    ).toThrow(/audience/);
  });

  it('reads PEM and DER files and base64 DER, and fails synth on anything that is not a CA certificate', () => {
    const expected = rootDer.toString('base64');
    expect(appleRootCertificatesValue({ rootCertificates: [derFile] })).toBe(expected);
    expect(appleRootCertificatesValue({ rootCertificates: [pemFile] })).toBe(expected);
    expect(appleRootCertificatesValue({ rootCertificates: [expected] })).toBe(expected);
    expect(appleRootCertificatesValue({ rootCertificates: [derFile, pemFile] })).toBe(
      `${expected},${expected}`,
    );

    const leaf = join(dir, 'leaf.cer');
    writeFileSync(leaf, Buffer.from(appleTestPki().signer.x5c[0], 'base64'));
    const garbage = join(dir, 'garbage.cer');
    writeFileSync(garbage, 'not a certificate');
    expect(() => appleRootCertificatesValue({ rootCertificates: [leaf] })).toThrow(/not a CA certificate/);
    expect(() => appleRootCertificatesValue({ rootCertificates: [garbage] })).toThrow(/not an X\.509/);
    expect(() => appleRootCertificatesValue({ rootCertificates: ['certs/missing.cer'] })).toThrow(
      /neither a file/,
    );
    expect(() =>
      appleRootCertificatesValue({ rootCertificates: [derFile] }, { now: new Date('2099-01-01') }),
    ).toThrow(/not valid now/);
    expect(build({ stage: 'dev', ...enabled, appleRootCertificates: garbage })).toThrow(StageConfigError);
  });
});
