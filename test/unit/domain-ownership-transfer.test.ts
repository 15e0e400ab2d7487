import { describe, expect, it } from 'vitest';
import { type Binding, bindingAfterTransfer } from '../../shared/domain/ownership';

// After an operator's transfer, the store's binding to a uuid the transfer lists names the user the
// purchase was moved to; any other binding is left as the store gives it.

const ALICE_UUID = '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b';
const transfer = { userId: 'bob', appUserIds: [ALICE_UUID] };
const toAlice: Binding = { kind: 'other', userId: 'alice' };

describe('bindingAfterTransfer', () => {
  it("makes the old account's binding name the new owner: bob's verify is his, alice's is another user's", () => {
    expect(bindingAfterTransfer(toAlice, transfer, ALICE_UUID, 'bob')).toEqual({ kind: 'caller' });
    expect(bindingAfterTransfer({ kind: 'caller' }, transfer, ALICE_UUID, 'alice')).toEqual({
      kind: 'other',
      userId: 'bob',
    });
    expect(bindingAfterTransfer(toAlice, transfer, ALICE_UUID, 'carol')).toEqual({
      kind: 'other',
      userId: 'bob',
    });
  });

  it('compares uuids without regard to case, as the stores may send them either way', () => {
    expect(bindingAfterTransfer(toAlice, transfer, ALICE_UUID.toUpperCase(), 'bob')).toEqual({
      kind: 'caller',
    });
  });

  it('leaves a binding to a uuid the transfer does not list, an unbound purchase, and an untransferred one alone', () => {
    const otherUuid = '00000000-0000-4000-8000-000000000000';
    expect(bindingAfterTransfer(toAlice, transfer, otherUuid, 'bob')).toEqual(toAlice);
    expect(bindingAfterTransfer({ kind: 'none' }, transfer, ALICE_UUID, 'alice')).toEqual({ kind: 'none' });
    expect(bindingAfterTransfer(toAlice, undefined, ALICE_UUID, 'bob')).toEqual(toAlice);
  });
});
