import { randomBytes } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { isWebhookSecret, signedHeaders } from '../../shared/events/signing';

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const body = JSON.stringify({ type: 'entitlements.changed', data: { userId: 'alice', sequence: 3 } });

describe('Standard Webhooks signatures', () => {
  it('a receiver verifies the event with the standardwebhooks package and gets the body back', () => {
    const secret = newSecret();
    const headers = signedHeaders([secret], 'evt_1', body, new Date());
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('during a rotation both secrets sign, so a receiver holding either the new or the old one verifies', () => {
    const [current, previous] = [newSecret(), newSecret()];
    const headers = signedHeaders([current, previous], 'evt_2', body, new Date());
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, { ...headers })).toEqual(JSON.parse(body));
    // A secret that is in neither place is refused.
    expect(() => new Webhook(newSecret()).verify(body, { ...headers })).toThrow(WebhookVerificationError);
  });

  it('a changed body or a stale timestamp does not verify', () => {
    const secret = newSecret();
    const headers = signedHeaders([secret], 'evt_3', body, new Date());
    expect(() => new Webhook(secret).verify(`${body} `, { ...headers })).toThrow(WebhookVerificationError);
    const old = signedHeaders([secret], 'evt_3', body, new Date(Date.now() - 60 * 60_000));
    expect(() => new Webhook(secret).verify(body, { ...old })).toThrow(WebhookVerificationError);
  });

  it('accepts only whsec_ secrets with a base64 key', () => {
    expect(isWebhookSecret(newSecret())).toBe(true);
    expect(isWebhookSecret('whsec_')).toBe(false);
    expect(isWebhookSecret('plain-secret-value-123456')).toBe(false);
    expect(isWebhookSecret('whsec_not base64 at all!!')).toBe(false);
  });
});
