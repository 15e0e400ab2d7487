import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSandboxCli } from '../../dev/sandbox/sandbox-cli';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import { startWebhookReceiver, type WebhookReceiver } from '../../dev/sandbox/webhook-receiver';

// The CLI against a running sandbox, called in-process (the npm script only adds process.argv).

let sandbox: AttestoSandbox;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  sandbox = await startAttestoSandbox({
    apiKey: 'attesto_test_cli',
    webhookSecret: 'cli-secret-0123456789abcdefghijklmnopqrstuvwx',
    packageName: 'com.example.app',
    bundleId: 'com.example.app',
  });
});

afterAll(async () => {
  await sandbox.stop();
  await receiver.stop();
});

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSandboxCli([...args, '--sandbox', sandbox.url], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: {},
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('sandbox CLI', () => {
  it('buys, prints the transaction id and working curl commands', async () => {
    const result = await cli('buy', 'premium_monthly', '--user', 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d');

    expect(result.code).toBe(0);
    const purchase = sandbox.purchases().at(-1);
    expect(result.out).toContain(`transactionId ${purchase?.token}`);
    expect(result.out).toContain('/api/iap/verify/apple');
    const curl = result.out.split('\n').find((l) => l.includes(`${sandbox.url}/v1/apple/verify`));
    expect(curl).toContain("-H 'Authorization: Bearer attesto_test_cli'");
    // The printed body verifies.
    const body = curl?.match(/-d '(.*)'$/)?.[1] ?? '';
    const response = await fetch(`${sandbox.url}/v1/apple/verify`, {
      method: 'POST',
      headers: { authorization: 'Bearer attesto_test_cli', 'content-type': 'application/json' },
      body,
    });
    expect(((await response.json()) as { valid: boolean }).valid).toBe(true);
  });

  it('runs lifecycle steps and sends their webhooks to --webhook-url', async () => {
    const bought = await cli('buy', 'premium_monthly', '--platform', 'google', '--webhook-url', receiver.url);
    const id = sandbox.purchases().at(-1)?.id ?? '';
    const steps = [
      ['renew', id],
      ['fail-billing', id, '--grace'],
      ['recover', id],
      ['cancel', id],
      ['upgrade', id, 'premium_yearly'],
    ];
    for (const step of steps) {
      const result = await cli(...step, '--webhook-url', receiver.url);
      expect(result.err).toBe('');
      expect(result.code).toBe(0);
    }

    expect(bought.out).toContain('purchaseToken ');
    expect(receiver.received.map((r) => r.headers['x-attesto-event'])).toEqual([
      'subscription.purchased',
      'subscription.renewed',
      'subscription.in_grace_period',
      'subscription.recovered',
      'subscription.cancellation_scheduled',
      'subscription.purchased',
      // The replaced token's expiry, as Google sends it after an upgrade.
      'subscription.expired',
    ]);
    const list = await cli('list');
    expect(list.out).toContain(`${id}  google premium_monthly (subscription)  replaced`);
  });

  it('sets knobs and shows stats', async () => {
    const knobs = await cli('knobs', '--latency', '150', '--error-rate', '0.1', '--burst-429', '5');
    expect(knobs.code).toBe(0);
    expect(sandbox.knobs()).toMatchObject({ latencyMs: 150, errorRate: 0.1, burst429: 5 });
    await cli('knobs', '--clear');
    expect(sandbox.knobs()).toMatchObject({ latencyMs: 0, errorRate: 0, burst429: 0, hang: null });
    const stats = await cli('stats');
    expect(JSON.parse(stats.out)).toHaveProperty('verify');
  });

  it.each([
    [['buy', 'no_such_product'], 1, /Unknown product "no_such_product"/],
    [['renew', 'sbx_999'], 1, /No sandbox purchase matches "sbx_999"/],
    [['buy', 'premium_monthly', '--platform', 'windows'], 2, /--platform must be apple or google/],
    [['buy', 'premium_monthly', '--colour', 'red'], 2, /Unknown option '--colour'[\s\S]*Usage:/],
    [['upgrade', 'sbx_1'], 2, /upgrade takes <id> <newProductId>/],
    [['knobs', '--error-rate', '3'], 2, /--error-rate must be between 0 and 1/],
    [['dance'], 2, /Unknown command "dance"/],
  ])('explains bad input: %j', async (args, code, message) => {
    const result = await cli(...args);
    expect(result.code).toBe(code);
    expect(result.err).toMatch(message);
  });

  it('says where it looked when the sandbox is not running', async () => {
    const code = await runSandboxCli(['list', '--sandbox', 'http://127.0.0.1:9'], {
      out: () => {},
      err: (l) => expect(l).toMatch(/Cannot reach the Attesto sandbox at http:\/\/127\.0\.0\.1:9/),
      env: {},
    });
    expect(code).toBe(1);
  });
});

describe('sandbox CLI --print, for scripts', () => {
  it('prints only the value asked for: the token to verify, the new expiry, the upgraded token', async () => {
    const bought = await cli('buy', 'premium_monthly', '--print', 'token');
    const apple = sandbox.purchases().at(-1);
    expect(bought).toEqual({ code: 0, out: apple?.token, err: '' });
    expect(bought.out).toMatch(/^2000000\d{9}$/);

    const renewed = await cli('renew', bought.out, '--print', 'expiresAt');
    expect(renewed.code).toBe(0);
    expect(renewed.out).toBe(sandbox.controller.purchase(bought.out).expiresAt);
    expect(Date.parse(renewed.out)).toBeGreaterThan(Date.parse(apple?.expiresAt ?? ''));
    expect((await cli('show', bought.out, '--print', 'status')).out).toBe('active');

    const google = await cli('buy', 'premium_monthly', '--platform', 'google', '--print', 'token');
    const upgraded = await cli('upgrade', google.out, 'premium_yearly', '--print', 'token');
    expect(upgraded.code).toBe(0);
    expect(upgraded.out).not.toBe(google.out);
    expect(sandbox.controller.purchase(upgraded.out).productId).toBe('premium_yearly');
  });

  it('refuses an unknown field, and exits 1 when a webhook was not delivered', async () => {
    const unknown = await cli('buy', 'premium_monthly', '--print', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--print takes one of token, id');

    receiver.respondWith(500);
    try {
      const refused = await cli('buy', 'premium_monthly', '--print', 'id', '--webhook-url', receiver.url);
      expect(refused.code).toBe(1);
      expect(refused.out).toBe(sandbox.purchases().at(-1)?.id);
      expect(refused.err).toMatch(/webhook evt_\w+ NOT delivered \(HTTP 500\)/);
    } finally {
      receiver.respondWith(200);
    }
  });
});
