import { describe, expect, it } from 'vitest';
import { ERASED, scrubIdentifiers } from '../../shared/domain/erasure';
import { planWrite, purchaseWrite } from '../../shared/store/purchase-writes';

// The erasure rule (architecture §3.9) in the one merge every verify, restore and webhook uses.

const pk = 'apple#1000';
const erased = {
  pk,
  platform: 'apple',
  subjectKey: '1000',
  status: 'active',
  appliedAt: 1,
  appliedOrder: 10,
  rev: 3,
  erasedAt: '2026-01-01T00:00:00.000Z',
};
const update = { t: 2, order: 20, set: { status: 'expired' as const, appUserId: 'old-uuid' } };

describe('an erased purchase', () => {
  it.each(['claim', 'if-absent'] as const)('takes no owner through %s, nor the appUserId back', (mode) => {
    const plan = planWrite(purchaseWrite(pk, update, { userId: 'someone', mode }), erased, 'now');
    expect(plan.after.status).toBe('expired');
    expect(plan.after.userId).toBeUndefined();
    expect(plan.after.appUserId).toBeUndefined();
    expect(JSON.stringify(plan.operation)).not.toContain('someone');
    expect(JSON.stringify(plan.operation)).not.toContain('old-uuid');
  });

  it('takes an owner an operator sets explicitly', () => {
    const plan = planWrite(purchaseWrite(pk, update, { userId: 'new-owner', mode: 'set' }), erased, 'now');
    expect(plan.after.userId).toBe('new-owner');
    expect(plan.after.appUserId).toBeUndefined();
  });

  it('a purchase never erased still takes both', () => {
    const { erasedAt: _e, ...plain } = erased;
    const plan = planWrite(purchaseWrite(pk, update, { userId: 'someone', mode: 'claim' }), plain, 'now');
    expect(plan.after).toEqual(expect.objectContaining({ userId: 'someone', appUserId: 'old-uuid' }));
  });
});

describe('scrubIdentifiers', () => {
  it('replaces every string containing an identifier, at any depth, case-insensitively', () => {
    const record = {
      ownerBefore: 'dora@example.com',
      cause: { caller: 'dora@example.com', reason: 'asked by Dora@Example.com' },
      after: { appUserId: 'ABCD-1234', status: 'active' },
      list: ['x', 'abcd-1234'],
    };
    expect(scrubIdentifiers(record, ['dora@example.com', 'abcd-1234'])).toEqual({
      ownerBefore: ERASED,
      cause: { caller: ERASED, reason: ERASED },
      after: { appUserId: ERASED, status: 'active' },
      list: ['x', ERASED],
    });
  });
});
