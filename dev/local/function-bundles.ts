// `npm start -- --bundled`: the functions as AWS runs them. The stage is synthesized with CDK's own
// bundling (esbuild, ESM banner, aliases, minified: infra/constructs/function-factory.ts) and each
// function is served from its asset folder in the cloud assembly, found the way CloudFormation
// finds it: the function's Code.S3Key names the asset, the asset manifest names its folder.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { constructIdOf } from '../../infra/constructs/function-factory';
import { type FunctionName, functions } from '../../infra/functions';
import { buildIapBackendApp } from '../../infra/stack';
import { stackName } from '../../infra/stack-name';

export interface FunctionBundles {
  stage: string;
  /** The cloud assembly the bundles are in. */
  outdir: string;
  synthMs: number;
  /** file: URL of each function's bundled entry module. */
  entries: Record<FunctionName, string>;
}

interface TemplateResource {
  Type: string;
  Properties?: { Code?: { S3Key?: unknown }; Handler?: unknown };
  Metadata?: Record<string, unknown>;
}

interface AssetManifest {
  files?: Record<string, { source?: { path?: string; packaging?: string } }>;
}

/** The module Lambda loads for `Handler: "<module>.handler"`, as esbuild emitted it. */
function entryFile(dir: string, handler: unknown, fn: FunctionName): string {
  const match = typeof handler === 'string' ? /^(.+)\.handler$/.exec(handler) : null;
  if (!match) throw new Error(`${fn}: Handler ${JSON.stringify(handler)} does not export "handler"`);
  for (const ext of ['.mjs', '.js', '.cjs']) {
    const file = join(dir, `${match[1]}${ext}`);
    if (existsSync(file)) return file;
  }
  throw new Error(`${fn}: no ${match[1]}.mjs/.js in ${dir}`);
}

/** Maps every function of the product to its bundle in a synthesized cloud assembly. */
export function bundleEntries(outdir: string, stack: string): Record<FunctionName, string> {
  const template = JSON.parse(readFileSync(join(outdir, `${stack}.template.json`), 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
  const manifest = JSON.parse(readFileSync(join(outdir, `${stack}.assets.json`), 'utf8')) as AssetManifest;
  const byPath = new Map<string, TemplateResource>();
  for (const resource of Object.values(template.Resources))
    if (resource.Type === 'AWS::Lambda::Function' && typeof resource.Metadata?.['aws:cdk:path'] === 'string')
      byPath.set(resource.Metadata['aws:cdk:path'] as string, resource);

  const entries = {} as Record<FunctionName, string>;
  for (const fn of Object.keys(functions) as FunctionName[]) {
    const resource = byPath.get(`${stack}/${constructIdOf(fn)}Fn/Resource`);
    if (!resource) throw new Error(`${fn}: no AWS::Lambda::Function for it in ${stack}`);
    const key = resource.Properties?.Code?.S3Key;
    const hash = typeof key === 'string' ? key.replace(/\.zip$/, '') : undefined;
    const source = hash ? manifest.files?.[hash]?.source : undefined;
    if (!source?.path) throw new Error(`${fn}: its code ${String(key)} is not a file asset of ${stack}`);
    entries[fn] = pathToFileURL(entryFile(join(outdir, source.path), resource.Properties?.Handler, fn)).href;
  }
  return entries;
}

/** Synthesizes the stage into `outdir`, bundling every function, and maps them to their bundles. */
export function synthFunctionBundles(options: {
  stage: string;
  outdir: string;
  /** Context overrides, as `-c key=value` would give them. */
  context?: Record<string, unknown>;
}): FunctionBundles {
  const started = Date.now();
  const app = new App({
    outdir: options.outdir,
    // The CLI's defaults: the path metadata is how a template resource is traced to its function.
    context: { ...options.context, stage: options.stage, 'aws:cdk:enable-path-metadata': true },
  });
  const stack = buildIapBackendApp(app);
  app.synth();
  return {
    stage: options.stage,
    outdir: options.outdir,
    synthMs: Date.now() - started,
    entries: bundleEntries(options.outdir, stack.stackName ?? stackName(options.stage)),
  };
}
