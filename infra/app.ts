// CDK app entry (cdk.json "app"). The stage comes from `-c stage=dev|staging|prod` (cdk.json
// defaults it to dev); single settings can be overridden with context, see infra/stage/overrides.ts.
import { App } from 'aws-cdk-lib';
import { buildIapBackendApp } from './stack';
import { StageConfigError } from './stage/stage-config-error';

const app = new App();
try {
  buildIapBackendApp(app);
} catch (error) {
  if (!(error instanceof StageConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
app.synth();
