import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CDK_JSON_CONTEXT } from './synth';

// The flags `cdk init` writes into a new app's cdk.json for the installed aws-cdk-lib; an upgrade
// that adds one fails here until cdk.json (and docs/deploy.md, if it changes resources) follows.
const recommended: Record<string, unknown> = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8'),
);

describe('CDK feature flags', () => {
  it('cdk.json sets every flag a new app of this aws-cdk-lib gets, to the recommended value', () => {
    expect(Object.keys(recommended).length).toBeGreaterThan(80);
    const differing = Object.entries(recommended)
      .filter(([flag, value]) => JSON.stringify(CDK_JSON_CONTEXT[flag]) !== JSON.stringify(value))
      .map(
        ([flag, value]) =>
          `${flag}: ${JSON.stringify(CDK_JSON_CONTEXT[flag])}, recommended ${JSON.stringify(value)}`,
      );
    expect(differing).toEqual([]);
  });
});
