import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnElement } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONTROL_TOWER_EXEMPTIONS,
  controlTowerRulesFor,
  controlTowerSupported,
  controlTowerValidator,
  ruleFileOf,
} from '../../infra/control-tower-rules';
import { PROD_APP_SETTINGS, type Synthesized, synthStage } from './synth';

interface Finding {
  control: string;
  /** Construct path below the stack. */
  resource: string;
}

const dir = mkdtempSync(join(tmpdir(), 'iap-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The construct path below the stack of the resource with this logical id. */
function constructPathOf(s: Synthesized, logicalId: string): string {
  const element = s.stack.node
    .findAll()
    .find((c) => CfnElement.isCfnElement(c) && s.stack.getLogicalId(c) === logicalId);
  return element ? element.node.path.split('/').slice(1).join('/') : logicalId;
}

/** Runs cfn-guard once over the templates and names each finding by control and construct path. */
function findingsOf(stages: Synthesized[], applyExemptions: boolean): Finding[] {
  const templatePaths = stages.map((s) => {
    const path = join(dir, `${s.stack.stackName}.template.json`);
    writeFileSync(path, JSON.stringify(s.json));
    return path;
  });
  const validator = controlTowerValidator(stages[0]?.stack as Synthesized['stack'], { applyExemptions });
  const report = validator.validate({ templatePaths, appConstruct: stages[0]?.app as Synthesized['app'] });
  const found = new Map<string, Finding>();
  for (const violation of report.violations) {
    const control = /\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(violation.description)?.[1];
    if (!control) throw new Error(`No control id in: ${violation.description}`);
    for (const r of violation.violatingResources) {
      const s = stages.find((stage) => r.templatePath.endsWith(`${stage.stack.stackName}.template.json`));
      const resource = s ? constructPathOf(s, r.resourceLogicalId) : r.resourceLogicalId;
      found.set(`${control} ${resource}`, { control, resource });
    }
  }
  return [...found.values()];
}

const covers = (finding: Finding) =>
  CONTROL_TOWER_EXEMPTIONS.some(
    (e) => e.control === finding.control && (!e.resources || e.resources.includes(finding.resource)),
  );

describe.runIf(controlTowerSupported())('AWS Control Tower proactive controls (cfn-guard)', () => {
  let stages: Synthesized[];
  let unexempted: Finding[];
  beforeAll(() => {
    stages = [synthStage({ stage: 'dev' }), synthStage({ stage: 'prod', ...PROD_APP_SETTINGS })];
    unexempted = findingsOf(stages, false);
  }, 180_000);

  it('every finding has a recorded exemption', () => {
    expect(unexempted.filter((f) => !covers(f))).toEqual([]);
  });

  it('no exemption is stale: each control and each listed resource is still found', () => {
    for (const exemption of CONTROL_TOWER_EXEMPTIONS) {
      const hits = unexempted.filter((f) => f.control === exemption.control);
      expect(hits.length, exemption.control).toBeGreaterThan(0);
      for (const resource of exemption.resources ?? [])
        expect(
          hits.map((f) => f.resource),
          `${exemption.control} ${resource}`,
        ).toContain(resource);
    }
  });

  it('every exemption is explained and listed once', () => {
    const controls = CONTROL_TOWER_EXEMPTIONS.map((e) => e.control);
    expect(new Set(controls).size).toBe(controls.length);
    for (const e of CONTROL_TOWER_EXEMPTIONS) expect(e.reason.length, e.control).toBeGreaterThan(80);
  });

  it('`cdk synth` skips exactly the exempted controls, each a rule file that applies to the stack', () => {
    const stack = stages[0]?.stack as Synthesized['stack'];
    const applicable = controlTowerRulesFor(stack).map((f) => f.split('/').pop());
    for (const e of CONTROL_TOWER_EXEMPTIONS)
      expect(applicable, e.control).toContain(`${ruleFileOf(e.control)}.guard`);
  });

  it('runs the rules of the resource types the stack has, the webhook queue and functions among them', () => {
    const rules = controlTowerRulesFor(stages[0]?.stack as Synthesized['stack']).map((f) =>
      f.split('/').pop(),
    );
    expect(rules).toEqual(
      expect.arrayContaining(['ct-sqs-pr-1.guard', 'ct-lambda-pr-3.guard', 'ct-cloudwatch-pr-2.guard']),
    );
    expect(rules).not.toContain('ct-ec2-pr-1.guard');
  });
});
