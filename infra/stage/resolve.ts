// From `-c stage=…` and the context overrides to the checked settings the stack is built from.
import { applyOverrides, overrideOf, RETIRED_OVERRIDES } from './overrides';
import { crossFieldProblems, STAGES, type Stage, type StageConfig, stageConfigSchema } from './schema';
import { StageConfigError } from './stage-config-error';
import { PLACEHOLDERS, stageConfigs } from './values';

function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

/** Reads `-c stage=…`; an unknown or missing stage fails with the list of valid ones. */
export function parseStage(value: unknown): Stage {
  if (isStage(value)) return value;
  const got = value === undefined ? 'no stage was given' : `got ${JSON.stringify(value)}`;
  throw new StageConfigError(
    `Unknown stage: ${got}. Pass one of ${STAGES.join(', ')} with -c stage=<stage>, e.g. \`npx cdk deploy -c stage=dev\`.`,
  );
}

/**
 * The stage's settings with context overrides applied, checked as a whole. Errors name the
 * setting and how to override it.
 */
export function resolveStageConfig(
  stage: Stage,
  readContext: (key: string) => unknown = () => undefined,
): StageConfig {
  for (const [key, why] of Object.entries(RETIRED_OVERRIDES)) {
    const value = readContext(key);
    if (value !== undefined && value !== '')
      throw new StageConfigError(`Invalid settings for stage "${stage}": ${why}`);
  }
  const merged = applyOverrides(stageConfigs[stage], readContext);
  const parsed = stageConfigSchema.safeParse(merged);
  const issues = parsed.success
    ? crossFieldProblems(parsed.data)
    : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (!parsed.success || issues.length > 0) {
    const problems = issues.map((i) => `  - ${i}`).join('\n');
    throw new StageConfigError(
      `Invalid settings for stage "${stage}" (infra/stage/values.ts, or a -c override):\n${problems}`,
    );
  }
  return parsed.data as StageConfig;
}

/**
 * Settings still at their example value; the stack warns about each at synth, and a stage listed
 * in STAGES_REFUSING_EXAMPLE_VALUES fails instead.
 */
export function placeholderSettings(config: StageConfig): string[] {
  const found: string[] = [];
  if (config.auth.issuer === PLACEHOLDERS.issuer) found.push(`auth.issuer (${overrideOf('auth.issuer')})`);
  if (config.store.googlePackageName === PLACEHOLDERS.googlePackageName)
    found.push(`store.googlePackageName (${overrideOf('store.googlePackageName')})`);
  if (config.store.appleBundleId === PLACEHOLDERS.appleBundleId)
    found.push(`store.appleBundleId (${overrideOf('store.appleBundleId')})`);
  return found;
}

/**
 * Stages whose synth fails on an example value: a deployment with the example issuer rejects
 * every user's token and one with the example bundle id or package name refuses every purchase.
 * dev and staging only warn, so a fresh checkout synthesizes out of the box.
 */
export const STAGES_REFUSING_EXAMPLE_VALUES: readonly Stage[] = ['prod'];

/** One line per setting still at its example value. */
export function exampleValueMessages(config: StageConfig): string[] {
  return placeholderSettings(config).map(
    (setting) => `${setting} is still the example value in infra/stage/values.ts; set it before deploying.`,
  );
}

/** Throws, naming every example value, when the stage must not deploy them. */
export function refuseExampleValues(config: StageConfig): void {
  if (!STAGES_REFUSING_EXAMPLE_VALUES.includes(config.stage)) return;
  const messages = exampleValueMessages(config);
  if (messages.length === 0) return;
  throw new StageConfigError(
    `Invalid settings for stage "${config.stage}":\n${messages.map((m) => `  - ${m}`).join('\n')}`,
  );
}
