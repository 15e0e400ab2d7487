import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { functionTimeoutSeconds } from '../../dev/local/function-handlers';
import { DataTables } from '../../infra/constructs/data-tables';
import { ProductFunction, type ProductFunctionProps } from '../../infra/constructs/function-factory';
import { WebhookPipeline } from '../../infra/constructs/webhook-pipeline';
import { functions } from '../../infra/functions';

function miniStack(context: Record<string, unknown> = { 'aws:cdk:bundling-stacks': [] }, outdir?: string) {
  const app = new App({ builtinCloudFormationValidation: false, context, ...(outdir ? { outdir } : {}) });
  const stack = new Stack(app, 'Mini');
  const tables = new DataTables(stack, 'Tables', {
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
  });
  const base: Omit<ProductFunctionProps, 'def'> = {
    resources: { tables: tables.byKey },
    logRetention: RetentionDays.ONE_DAY,
    logRemovalPolicy: RemovalPolicy.DESTROY,
  };
  return { app, stack, base };
}

describe('function factory', () => {
  it('merges environment: defaults, then caller, then invariants', () => {
    const { stack, base } = miniStack();
    new ProductFunction(stack, {
      ...base,
      def: functions.entitlements,
      defaultEnvironment: { POWERTOOLS_LOG_LEVEL: 'INFO', KEEP_DEFAULT: 'yes' },
      environment: {
        POWERTOOLS_LOG_LEVEL: 'WARN',
        NODE_OPTIONS: '--inspect',
        PURCHASES_TABLE: 'hand-written',
      },
    });
    const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0];
    expect(fn?.Properties.Environment.Variables).toMatchObject({
      KEEP_DEFAULT: 'yes',
      POWERTOOLS_LOG_LEVEL: 'WARN',
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'iap-backend',
      PURCHASES_TABLE: { Ref: expect.stringMatching(/^TablesPurchases/) },
    });
  });

  it('uses the definition timeout, else 10 s; 256 MB unless the definition says', () => {
    const { stack, base } = miniStack();
    new ProductFunction(stack, {
      ...base,
      def: { name: 'products', description: 'no settings', tables: {} },
    });
    new ProductFunction(stack, {
      ...base,
      def: { name: 'entitlements', description: 'its own', tables: {}, timeoutSeconds: 25, memoryMb: 512 },
    });
    const byDescription = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map(
      (r) => [r.Properties.Description, r.Properties.Timeout, r.Properties.MemorySize],
    );
    expect(byDescription).toEqual([
      ['no settings', 10, 256],
      ['its own', 25, 512],
    ]);
  });

  it('gives the consumer its 30 s from its own definition, in the stack and in the local runtime', () => {
    const { stack, base } = miniStack();
    // Without its secret, which this mini stack does not create.
    new ProductFunction(stack, { ...base, def: { ...functions['webhook-consumer'], secrets: [] } });
    const timeouts = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map(
      (r) => r.Properties.Timeout,
    );
    expect(functions['webhook-consumer'].timeoutSeconds).toBe(30);
    expect(timeouts).toEqual([30]);
    expect(functionTimeoutSeconds('webhook-consumer')).toBe(30);
    expect(functionTimeoutSeconds('uuid')).toBe(10);
  });

  it('refuses a definition that asks for a resource the stack did not provide', () => {
    const { stack, base } = miniStack();
    expect(() => new ProductFunction(stack, { ...base, def: functions['attesto-webhook'] })).toThrow(
      /sends to the webhook queue, but none was given/,
    );
    expect(
      () =>
        new ProductFunction(stack, { ...base, def: { ...functions.products, secrets: ['attestoApiKey'] } }),
    ).toThrow(/reads the attestoApiKey secret, but none was given/);
    const other = miniStack();
    expect(
      () =>
        new ProductFunction(other.stack, {
          ...other.base,
          def: { ...functions.entitlements, tables: { purchases: { queries: ['byOrder'] } } },
        }),
    ).toThrow(/queries Purchases\/byOrder, which is not an index of that table/);
    const third = miniStack();
    expect(
      () =>
        new ProductFunction(third.stack, {
          ...third.base,
          def: { ...functions.entitlements, tables: { purchases: {} } },
        }),
    ).toThrow(/lists Purchases without any action on it/);
  });
});

describe('webhook pipeline guard', () => {
  it('fails synth when the visibility timeout is under 6× the consumer timeout', () => {
    const { stack } = miniStack();
    const pipeline = new WebhookPipeline(stack, 'Pipeline');
    const slow = new LambdaFunction(stack, 'Slow', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => ({})'),
      timeout: Duration.seconds(31),
    });
    expect(() => pipeline.attachConsumer(slow, 5)).toThrow(/at least 6× the consumer timeout \(31 s\)/);
    const fast = new LambdaFunction(stack, 'Fast', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => ({})'),
      timeout: Duration.seconds(30),
    });
    expect(() => pipeline.attachConsumer(fast, 5)).not.toThrow();
  });
});

describe('bundling (real esbuild)', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'iap-bundle-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('builds a handler into a minified ESM bundle with a source map that Node can load', () => {
    const { app, stack, base } = miniStack({}, outdir);
    new ProductFunction(stack, { ...base, def: functions.products });
    app.synth();
    const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    const dir = join(outdir, assets[0] ?? '');
    expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(bundle.startsWith("import { createRequire as __createRequire } from 'node:module';")).toBe(true);
    // Nothing is left for the runtime to resolve except Node built-ins: the AWS SDK is inside.
    const imports = [...bundle.matchAll(/(?:from|import)\s*["']([^"']+)["']/g)].map((m) => m[1]);
    expect(imports.every((specifier) => specifier?.startsWith('node:') || !specifier?.includes('/'))).toBe(
      true,
    );
    expect(bundle).not.toMatch(/["']@aws-sdk\//);
    expect(
      JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')).sources.some((s: string) =>
        s.includes('functions/products/handler.ts'),
      ),
    ).toBe(true);
    execFileSync(process.execPath, ['--check', join(dir, 'index.mjs')]);
  });
});
