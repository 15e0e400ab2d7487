import { describe, expect, it } from 'vitest';
import { type CfnJson, synthStage } from './synth';

// The business metrics the functions write (shared/observability/metrics.ts) reach the dashboard
// only if every function writes them under the namespace and service the dashboard reads.
// Both are written out here: the stack takes them from one constant, so comparing against that
// constant could not fail.
const METRICS_NAMESPACE = 'IapBackend';
const SERVICE_NAME = 'iap-backend';

const dev = synthStage({ stage: 'dev' });

/** The dashboard body with the stack's references replaced by a placeholder string. */
function dashboardWidgets(): { type: string; properties: CfnJson }[] {
  const dashboard = Object.values(dev.json.Resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard');
  if (!dashboard) throw new Error('no dashboard');
  const [, parts] = dashboard.Properties.DashboardBody['Fn::Join'] as [string, unknown[]];
  const body = parts.map((p) => (typeof p === 'string' ? p : 'REF')).join('');
  return (JSON.parse(body) as { widgets: { type: string; properties: CfnJson }[] }).widgets;
}

describe('business metrics in the stack', () => {
  it('every function writes under the namespace and service the dashboard reads', () => {
    const fns = Object.values(dev.json.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(fns.length).toBeGreaterThan(0);
    for (const fn of fns) {
      const vars = fn.Properties?.Environment?.Variables ?? {};
      if (!('POWERTOOLS_SERVICE_NAME' in vars)) continue; // CDK's own helper functions
      expect(vars).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      });
      expect(vars).not.toHaveProperty('POWERTOOLS_METRICS_DISABLED');
    }
  });

  it('the dashboard graphs applied vs duplicate/stale events and verifications by outcome', () => {
    const graphs = dashboardWidgets().filter((w) => w.type === 'metric');
    const byTitle = (title: string) => {
      const found = graphs.find((g) => g.properties.title === title);
      if (!found) throw new Error(`no widget "${title}"`);
      return found.properties.metrics as unknown[][];
    };

    const events = byTitle('Webhook events: applied vs duplicate / stale');
    const labels = events
      .map((row) => row.at(-1) as { label?: string; expression?: string })
      .filter((o) => o.expression)
      .map((o) => o.label);
    expect(labels).toEqual(expect.arrayContaining(['applied', 'duplicate', 'stale']));
    const eventMetrics = events.filter((row) => row[0] === METRICS_NAMESPACE);
    expect(eventMetrics).toContainEqual(
      expect.arrayContaining([
        'WebhookEvents',
        'result',
        'duplicate',
        'service',
        SERVICE_NAME,
        'source',
        'google',
      ]),
    );

    const verifications = byTitle('Verifications by outcome');
    for (const platform of ['apple', 'google'])
      for (const outcome of ['valid', 'rejected'])
        expect(verifications).toContainEqual(
          expect.arrayContaining([
            METRICS_NAMESPACE,
            'Verifications',
            'outcome',
            outcome,
            'platform',
            platform,
            'service',
            SERVICE_NAME,
          ]),
        );
  });
});
