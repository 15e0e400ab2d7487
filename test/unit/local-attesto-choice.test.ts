import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AttestoOptions, chooseAttesto, maskSecret, type SandboxModule } from '../../dev/local/attesto';

const base: Omit<AttestoOptions, 'env'> = {
  webhookUrl: 'http://127.0.0.1:3000/attesto-webhook',
  sandboxPort: 3001,
  packageName: 'com.example.app',
  bundleId: 'com.example.app',
};

describe('choosing the Attesto the local functions use', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('uses the real Attesto when ATTESTO_URL and its credentials are set', async () => {
    const choice = await chooseAttesto({
      ...base,
      env: { ATTESTO_URL: 'https://api.example/', ATTESTO_API_KEY: 'k', ATTESTO_WEBHOOK_SECRET: 's' },
      loadSandbox: () => Promise.reject(new Error('must not load the sandbox')),
    });
    expect(choice.mode).toBe('real');
    expect(choice.env).toEqual({});
  });

  it('refuses ATTESTO_URL without its credentials', async () => {
    await expect(chooseAttesto({ ...base, env: { ATTESTO_URL: 'https://api.example' } })).rejects.toThrow(
      /ATTESTO_API_KEY and ATTESTO_WEBHOOK_SECRET/,
    );
  });

  it('warns clearly when the sandbox cannot be loaded', async () => {
    const choice = await chooseAttesto({
      ...base,
      env: {},
      loadSandbox: () => Promise.reject(new Error('gone')),
    });
    expect(choice.mode).toBe('unavailable');
    expect(choice.warning).toMatch(/not available.*ATTESTO_URL/);
  });

  it('starts the sandbox with persisted test credentials and points the functions at it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iap-attesto-'));
    dirs.push(dir);
    const calls: Parameters<SandboxModule['startAttestoSandbox']>[0][] = [];
    const loadSandbox = async (): Promise<SandboxModule> => ({
      startAttestoSandbox: async (options) => {
        calls.push(options);
        return { url: `http://127.0.0.1:${options.port}`, stop: async () => {} };
      },
    });
    const options = {
      ...base,
      env: {},
      secretsFile: join(dir, 'dev-secrets.json'),
      dataFile: join(dir, 's.json'),
      loadSandbox,
    };
    const first = await chooseAttesto(options);
    const second = await chooseAttesto(options);

    expect(first.mode).toBe('sandbox');
    expect(first.env.ATTESTO_URL).toBe('http://127.0.0.1:3001');
    expect(first.env.ATTESTO_API_KEY).toMatch(/^attesto_test_[A-Za-z0-9_-]{43}$/);
    expect(first.env.ATTESTO_WEBHOOK_SECRET).toHaveLength(44);
    expect(second.env).toEqual(first.env);
    expect(calls[0]).toMatchObject({
      port: 3001,
      webhookUrl: base.webhookUrl,
      dataFile: join(dir, 's.json'),
    });
    expect(first.description).not.toContain(first.env.ATTESTO_WEBHOOK_SECRET);
    expect(JSON.parse(readFileSync(join(dir, 'dev-secrets.json'), 'utf8')).webhookSecrets).toEqual([
      first.env.ATTESTO_WEBHOOK_SECRET,
    ]);
    expect(statSync(join(dir, 'dev-secrets.json')).mode & 0o077).toBe(0);
  });

  it('masks secrets', () => {
    const secret = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH';
    expect(maskSecret(secret)).not.toContain(secret.slice(4, -2));
  });
});
