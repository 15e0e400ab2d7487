import { describe, expect, it } from 'vitest';
import { assertIssuerUrl, discoveryUrl, stringifyClaims } from '../../dev/local/jwt-authorizer';

describe('JWT authorizer details', () => {
  it('passes claims to the function as strings, arrays as [a b]', () => {
    expect(
      stringifyClaims({
        sub: 'u1',
        iat: 1700000000,
        admin: false,
        groups: ['x', 'y'],
        address: { city: 'Oslo' },
      }),
    ).toEqual({ sub: 'u1', iat: '1700000000', admin: 'false', groups: '[x y]', address: '{"city":"Oslo"}' });
  });

  it('requires https except for a loopback issuer', () => {
    expect(() => assertIssuerUrl('https://id.example.com/')).not.toThrow();
    expect(() => assertIssuerUrl('http://127.0.0.1:3000/_dev/issuer')).not.toThrow();
    expect(() => assertIssuerUrl('http://localhost:8080')).not.toThrow();
    expect(() => assertIssuerUrl('http://id.example.com')).toThrow(/https/);
    expect(() => assertIssuerUrl('not a url')).toThrow(/absolute URL/);
  });

  it('finds discovery under the issuer, with or without a trailing slash', () => {
    expect(discoveryUrl('https://tenant.example.com/')).toBe(
      'https://tenant.example.com/.well-known/openid-configuration',
    );
    expect(discoveryUrl('https://id.example.com/pool')).toBe(
      'https://id.example.com/pool/.well-known/openid-configuration',
    );
  });
});
