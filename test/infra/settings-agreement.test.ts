// Settings that both the stack and the functions validate: a value synth accepts must start the
// functions, and a value synth refuses must be refused by the functions too.
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../infra/stage/resolve';
import { attestoCallLimit } from '../../shared/purchases/attesto-call-limit';
import { settings } from '../../shared/settings';
import { historyRetention } from '../../shared/store/history';

const synth = (values: Record<string, string>) => () => resolveStageConfig('dev', (key) => values[key]);

describe('settings checked at synth and at run time agree', () => {
  it.each([
    ['0', true],
    ['60', true],
    ['61', false],
    ['365', false],
    ['-1', false],
  ])('billingRetryMaxDays=%s accepted: %s', (days, accepted) => {
    const atSynth = synth({ billingRetryMaxDays: days });
    const atRunTime = () => settings({ BILLING_RETRY_MAX_DAYS: days });
    if (accepted) {
      expect(atSynth().policies.billingRetryMaxDays).toBe(Number(days));
      expect(atRunTime().entitlementPolicy.billingRetryMaxDays).toBe(Number(days));
    } else {
      expect(atSynth).toThrow(/policies\.billingRetryMaxDays/);
      expect(atRunTime).toThrow(/BILLING_RETRY_MAX_DAYS/);
    }
  });

  it.each([
    ['attestoCallsPerUser', 'ATTESTO_CALLS_PER_USER', '10000', true],
    ['attestoCallsPerUser', 'ATTESTO_CALLS_PER_USER', '10001', false],
    ['attestoCallsPerUser', 'ATTESTO_CALLS_PER_USER', '0', false],
    ['attestoCallWindowSeconds', 'ATTESTO_CALL_WINDOW_SECONDS', '10', true],
    ['attestoCallWindowSeconds', 'ATTESTO_CALL_WINDOW_SECONDS', '9', false],
    ['attestoCallWindowSeconds', 'ATTESTO_CALL_WINDOW_SECONDS', '86401', false],
  ])('%s (%s) = %s accepted: %s', (contextKey, envVar, value, accepted) => {
    const atSynth = synth({ [contextKey]: value });
    const atRunTime = () => attestoCallLimit({ [envVar]: value });
    if (accepted) {
      expect(atSynth).not.toThrow();
      expect(atRunTime).not.toThrow();
    } else {
      expect(atSynth).toThrow(/attesto\.callLimit/);
      expect(atRunTime).toThrow(new RegExp(envVar));
    }
  });

  it.each([
    ['1', true],
    ['36500', true],
    ['0', false],
    ['36501', false],
    ['1.5', false],
  ])('historyRetentionDays=%s accepted: %s', (days, accepted) => {
    const atSynth = synth({ historyRetentionDays: days });
    const atRunTime = () => historyRetention({ HISTORY_RETENTION_DAYS: days });
    if (accepted) {
      expect(atSynth().historyRetentionDays).toBe(Number(days));
      expect(atRunTime()).toBe(Number(days));
    } else {
      expect(atSynth).toThrow(/historyRetentionDays/);
      expect(atRunTime).toThrow(/HISTORY_RETENTION_DAYS/);
    }
  });

  it.each([
    ['move', true],
    ['keep', true],
    ['share', false],
  ])('ownershipPolicy=%s accepted: %s', (policy, accepted) => {
    const atSynth = synth({ ownershipPolicy: policy });
    const atRunTime = () => settings({ OWNERSHIP_POLICY: policy });
    if (accepted) {
      expect(atSynth().policies.ownershipPolicy).toBe(policy);
      expect(atRunTime().ownershipPolicy).toBe(policy);
    } else {
      expect(atSynth).toThrow(/policies\.ownershipPolicy/);
      expect(atRunTime).toThrow(/OWNERSHIP_POLICY/);
    }
  });
});
