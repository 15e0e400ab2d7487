import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../dev/local/local-data';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { readMarker } from '../integration/webhook-test-kit';
import { startRuntimeInMemory } from '../support/local-runtime';

// The "A purchase on your laptop" walkthrough of docs/local-walkthrough.md, run as written: its bash blocks go, one
// after another, into one bash shell (they share variables) against the local runtime. Only the
// `API=` line is pointed at this test's port, and PORT / ATTESTO_SANDBOX_PORT are exported as the
// page tells a reader to when ports differ. After every step the user's entitlements are read
// independently and checked against what the page says they are.

const PAGE = 'docs/local-walkthrough.md';
const SECTION = '## A purchase on your laptop';
const API_LINE = /^API=http:\/\/127\.0\.0\.1:3000$/m;

interface Entitlement {
  key: string;
  productId: string;
  expiresAt: string | null;
  status: string;
  willRenew: boolean | null;
  platform: string;
}

function walkthroughBlocks(): string[] {
  const page = readFileSync(join(REPO_ROOT, PAGE), 'utf8');
  const start = page.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`${PAGE} has no "${SECTION}" section`);
  const end = page.indexOf('\n## ', start + SECTION.length + 2);
  const section = page.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

/** One bash process for the whole walkthrough, as a reader's second terminal. */
class Shell {
  private readonly proc: ChildProcessWithoutNullStreams;
  private stdout = '';
  private stderr = '';
  private count = 0;

  constructor(
    env: NodeJS.ProcessEnv,
    private readonly dir: string,
  ) {
    this.proc = spawn('bash', ['--noprofile', '--norc'], { cwd: REPO_ROOT, env, stdio: 'pipe' });
    this.proc.stdout.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString('utf8');
    });
    this.proc.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    // Any failing command of a step (not a test inside `&&`/`if`) is reported on stderr.
    this.proc.stdin.write(`set -E; trap 'echo "FAILED($?): $BASH_COMMAND" >&2' ERR\n`);
  }

  /** Runs a script in the shell (its variables stay), returning what it printed. */
  async run(script: string, timeoutMs = 30_000): Promise<{ stdout: string; stderr: string; status: number }> {
    this.count += 1;
    const marker = `__walkthrough_step_${this.count}_done__`;
    const file = join(this.dir, `step-${this.count}.sh`);
    writeFileSync(file, script);
    this.stdout = '';
    this.stderr = '';
    this.proc.stdin.write(`source '${file}'; echo "${marker} $?"; echo "${marker}" >&2\n`);
    const deadline = Date.now() + timeoutMs;
    while (!(this.stdout.includes(marker) && this.stderr.includes(marker))) {
      if (this.proc.exitCode !== null)
        throw new Error(`bash exited (${this.proc.exitCode}):\n${this.stderr}`);
      if (Date.now() > deadline)
        throw new Error(`step ${this.count} did not finish in ${timeoutMs} ms:\n${script}\n${this.stdout}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const [stdout = '', statusLine = ''] = this.stdout.split(marker);
    return {
      stdout,
      stderr: this.stderr.split(marker)[0] ?? '',
      status: Number(statusLine.trim()),
    };
  }

  async variable(name: string): Promise<string> {
    return (await this.run(`printf '%s' "$${name}"`)).stdout;
  }

  stop(): void {
    this.proc.stdin.end();
    this.proc.kill('SIGTERM');
  }
}

describe('docs/local-walkthrough.md: a purchase on your laptop', () => {
  let runtime: LocalRuntime;
  let dir: string;
  let shell: Shell;
  let apiPort: number;
  let sandboxPort: number;
  let token: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iap-walkthrough-'));
    ({ runtime, apiPort, sandboxPort } = await startRuntimeInMemory({ dataDir: dir }));
    // A reader's terminal: no variables of this test run or of the runtime, only the two ports.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LANG: process.env.LANG ?? 'C.UTF-8',
      PORT: String(apiPort),
      ATTESTO_SANDBOX_PORT: String(sandboxPort),
    };
    shell = new Shell(env, dir);
    const res = await fetch(`${runtime.apiUrl}/_dev/issuer/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub: 'alice' }),
    });
    token = ((await res.json()) as { token: string }).token;
  }, 60_000);

  afterAll(async () => {
    shell?.stop();
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function entitlements(): Promise<Entitlement[]> {
    const res = await fetch(`${runtime.apiUrl}/api/iap/entitlements`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { entitlements: Entitlement[] }).entitlements;
  }

  async function premium(): Promise<Entitlement> {
    const list = await entitlements();
    expect(list.map((e) => e.key)).toEqual(['premium']);
    return list[0] as Entitlement;
  }

  /** The sandbox's SUBSCRIPTION_EXPIRED for the token the walkthrough's upgrade replaced. */
  async function replacedTokenNotification(): Promise<SandboxWebhook> {
    const gtoken = await shell.variable('GTOKEN');
    const res = await fetch(
      `http://127.0.0.1:${sandboxPort}/_sandbox/webhooks?purchase=${encodeURIComponent(gtoken)}`,
    );
    const { webhooks } = (await res.json()) as { webhooks: SandboxWebhook[] };
    const found = webhooks.find(
      (w) =>
        w.platformEvent === 'google.subscription.13' &&
        (w.data.subscriptionNotification as { purchaseToken?: string }).purchaseToken === gtoken,
    );
    if (!found) throw new Error('the sandbox told nothing about the replaced token');
    return found;
  }

  /** Waits (generously) until the backend's consumer has processed the webhook. */
  async function processed(webhook: SandboxWebhook): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if (await readMarker(`${webhook.source}:${webhook.externalId}`)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the backend never processed ${webhook.eventId}`);
  }

  it('runs every step as written and the entitlements follow the page', async () => {
    const blocks = walkthroughBlocks();
    const started = performance.now();
    let firstExpiry = '';
    let renewedExpiry = '';

    // Each check names the block it belongs to by a command only that block runs.
    const steps: Array<{ block: RegExp; check: (out: string) => Promise<void> }> = [
      {
        block: /^npm start\b/,
        check: async () => {}, // the test started the same runtime (in memory) itself
      },
      {
        block: /npm run -s token -- alice/,
        check: async (out) => {
          expect(out.trim()).toBe('{"entitlements":[]}');
          expect(await entitlements()).toEqual([]);
          expect(await shell.variable('TOKEN')).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
        },
      },
      {
        block: /\/api\/iap\/uuid/,
        check: async (out) => {
          const uuid = await shell.variable('UUID');
          expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
          expect(out.trim()).toBe(uuid);
        },
      },
      {
        block: /sandbox -- buy premium_monthly --user/,
        check: async (out) => {
          const tx = await shell.variable('TX');
          expect(tx).toMatch(/^2000000\d{9}$/);
          expect(out).toContain(tx);
          const ent = await premium();
          expect(ent).toMatchObject({ productId: 'premium_monthly', status: 'active', platform: 'apple' });
          firstExpiry = ent.expiresAt ?? '';
          expect(Date.parse(firstExpiry)).toBeGreaterThan(Date.now());
        },
      },
      {
        block: /\/api\/iap\/verify\/apple[\s\S]*premium_monthly/,
        check: async (out) => {
          const answer = JSON.parse(out) as {
            valid: boolean;
            transaction: { id: string };
            entitlements: unknown;
          };
          expect(answer.valid).toBe(true);
          expect(answer.transaction.id).toBe(await shell.variable('TX'));
          const ent = await premium();
          expect(ent).toMatchObject({ productId: 'premium_monthly', expiresAt: firstExpiry });
          expect(answer.entitlements).toEqual([
            expect.objectContaining({ key: 'premium', expiresAt: firstExpiry }),
          ]);
        },
      },
      {
        block: /sandbox -- renew/,
        check: async (out) => {
          const ent = await premium();
          renewedExpiry = ent.expiresAt ?? '';
          expect(Date.parse(renewedExpiry)).toBeGreaterThan(Date.parse(firstExpiry));
          expect(renewedExpiry).toBe(await shell.variable('EXPIRES'));
          expect(out).toContain(renewedExpiry);
        },
      },
      {
        block: /sandbox -- cancel/,
        check: async (out) => {
          expect(out).toContain('subscription.cancellation_scheduled');
          expect(out).toContain('delivered (HTTP 200)');
          expect(await premium()).toMatchObject({
            willRenew: false,
            expiresAt: renewedExpiry,
            status: 'active',
          });
        },
      },
      {
        block: /sandbox -- expire/,
        check: async (out) => {
          expect(out).toContain('subscription.expired');
          expect(await entitlements()).toEqual([]);
        },
      },
      {
        block: /sandbox -- refund/,
        check: async (out) => {
          const answer = JSON.parse(out.split('\n')[0] ?? '') as {
            valid: boolean;
            entitlements: Entitlement[];
          };
          expect(answer.valid).toBe(true);
          expect(answer.entitlements).toEqual([expect.objectContaining({ productId: 'premium_yearly' })]);
          expect(out).toContain('subscription.refunded');
          expect(await entitlements()).toEqual([]);
        },
      },
      {
        block: /sandbox -- upgrade/,
        check: async (out) => {
          const answer = JSON.parse(out.split('\n')[0] ?? '') as {
            valid: boolean;
            transaction: { id: string };
          };
          expect(answer.valid).toBe(true);
          expect(answer.transaction.id).toBe(await shell.variable('GTOKEN'));
          const upgradedToken = await shell.variable('GTOKEN2');
          expect(upgradedToken).not.toBe(answer.transaction.id);
          expect(upgradedToken.length).toBeGreaterThan(100);
          expect(await premium()).toMatchObject({
            productId: 'premium_yearly',
            platform: 'google',
            status: 'active',
          });
        },
      },
      {
        block: /sandbox -- webhooks "\$GTOKEN"/,
        check: async (out) => {
          const lines = out.trim().split('\n');
          expect(lines[2]).toContain('subscription.expired [google.subscription.13]');
          const answer = JSON.parse(lines[3] ?? '') as {
            valid: boolean;
            transaction: { id: string; productId: string };
            entitlements: Entitlement[];
          };
          expect(answer.valid).toBe(true);
          expect(answer.transaction).toMatchObject({
            id: await shell.variable('GTOKEN'),
            productId: 'premium_monthly',
          });
          expect(answer.entitlements).toEqual([expect.objectContaining({ productId: 'premium_yearly' })]);
          // Once the backend has processed the replaced token's notification, still the upgraded plan.
          await processed(await replacedTokenNotification());
          expect(await premium()).toMatchObject({
            productId: 'premium_yearly',
            platform: 'google',
            status: 'active',
          });
        },
      },
    ];

    expect(blocks.length, 'one check per block of the page').toBe(steps.length);
    const timings: string[] = [];
    for (const [i, script] of blocks.entries()) {
      const step = steps[i];
      expect(script, `${PAGE} block ${i + 1} is not the expected step`).toMatch(step?.block ?? /$^/);
      if (/^npm start\b/.test(script)) continue;
      const runnable = i === 1 ? script.replace(API_LINE, `API=http://127.0.0.1:${apiPort}`) : script;
      if (i === 1) expect(runnable, 'the first step sets API=http://127.0.0.1:3000').not.toBe(script);
      const t = performance.now();
      const result = await shell.run(runnable);
      timings.push(`${i}:${Math.round(performance.now() - t)}ms`);
      expect(result.stderr, `step ${i}: ${script}`).not.toMatch(/FAILED\(/);
      expect(result.status, `step ${i} exit status: ${result.stderr}`).toBe(0);
      await step?.check(result.stdout);
    }
    console.info(`walkthrough: ${Math.round(performance.now() - started)} ms (${timings.join(' ')})`);
  }, 90_000);
});
