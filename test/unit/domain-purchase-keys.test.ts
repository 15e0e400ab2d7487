import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  aliasKey,
  creditKey,
  keyReference,
  parsePurchaseKey,
  purchaseKey,
} from '../../shared/domain/purchase';

const TOKEN = 'bvwhehxhdroiddbhrqdnnfug.AO-J1O_93ALB-Vu3GQ3yyOGJaiS4T63oqPYTNQ79KVECyYPJ0T5hbrWPiwyDNop';

describe('keyReference', () => {
  it('names the kind of key and the start of its SHA-256, never the key', () => {
    const pk = purchaseKey('google', TOKEN);
    const sha = createHash('sha256').update(pk).digest('hex');
    expect(keyReference(pk)).toBe(`google#${sha.slice(0, 8)}`);
    expect(keyReference(pk)).not.toContain(TOKEN.slice(0, 8));
  });

  it('labels every key the purchases table holds', () => {
    expect(keyReference(purchaseKey('apple', '2000000000000001'))).toMatch(/^apple#[0-9a-f]{8}$/);
    expect(keyReference(aliasKey('google-token', TOKEN))).toMatch(/^alias#google-token#[0-9a-f]{8}$/);
    expect(keyReference(aliasKey('google-order', 'GPA.1234-5678-9012-34567'))).toMatch(
      /^alias#google-order#[0-9a-f]{8}$/,
    );
    expect(keyReference(aliasKey('apple-tx', '2000000000000002'))).toMatch(/^alias#apple-tx#[0-9a-f]{8}$/);
    expect(keyReference(creditKey('google', TOKEN))).toMatch(/^credit#google#[0-9a-f]{8}$/);
    // Anything else gets no label taken from its own text.
    expect(keyReference(TOKEN)).toMatch(/^key#[0-9a-f]{8}$/);
  });

  it('tells keys apart and is the same for the same key', () => {
    const a = keyReference(purchaseKey('google', TOKEN));
    expect(keyReference(purchaseKey('google', TOKEN))).toBe(a);
    expect(keyReference(purchaseKey('google', `${TOKEN}x`))).not.toBe(a);
    expect(keyReference(aliasKey('google-token', TOKEN))).not.toBe(a);
  });

  it('stands in for the key in the error about a malformed one', () => {
    expect(() => parsePurchaseKey(`play#${TOKEN}`)).toThrow(/^Not a purchase key: key#[0-9a-f]{8}$/);
  });
});
