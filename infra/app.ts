// CDK app entry (cdk.json "app"). The stage comes from `-c stage=dev|staging|prod` (cdk.json
// defaults it to dev); single settings can be overridden with context, see infra/stage/overrides.ts.
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { controlTowerSupported, controlTowerValidator } from './control-tower-rules';
import { buildIapBackendApp } from './stack';
import { StageConfigError } from './stage/stage-config-error';

const app = new App();
try {
  const stack = buildIapBackendApp(app);
  // Here rather than in buildIapBackendApp: each synth in the tests would pay for a cfn-guard run,
  // and test/infra/control-tower-rules.test.ts runs it once with the exemptions held per resource.
  if (controlTowerSupported()) Validations.of(app).addPlugins(controlTowerValidator(stack));
  else
    Annotations.of(stack).addWarningV2(
      'iap-backend:control-tower-unsupported',
      `The Control Tower checks (cfn-guard) have no binary for ${process.platform}/${process.arch} and were skipped.`,
    );
} catch (error) {
  if (!(error instanceof StageConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
app.synth();
