import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/local/ports';
import { asFreshShell } from '../support/local-runtime';

// Runs on the TypeScript sources: it is `npm start` itself, which serves them through tsx.

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

/** Every live process below `root` (tsx's node, the java child, esbuild's service …). */
function descendants(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const child of parents.get(pid) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

describe('npm start (dev/local/start.ts --in-memory)', () => {
  let child: ChildProcess;
  let port: number;
  let output = '';
  let bannerMs = 0;
  let dataDir: string;

  beforeAll(async () => {
    port = await freePort();
    const sandboxPort = await freePort();
    dataDir = mkdtempSync(join(tmpdir(), 'iap-start-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      ATTESTO_SANDBOX_PORT: String(sandboxPort),
      LOCAL_DATA_DIR: dataDir,
    };
    asFreshShell(env);
    const started = Date.now();
    child = spawn(TSX, ['dev/local/start.ts', '--in-memory'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      // Generous: Java and tsx start slowly on a busy machine; the time is printed, not asserted.
      const timer = setTimeout(() => reject(new Error(`no banner in 60 s:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ctrl-C to stop')) {
          clearTimeout(timer);
          bannerMs = Date.now() - started;
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${code}:\n${output}`));
      });
    });
    console.info(`npm start --in-memory: banner after ${bannerMs} ms`);
  }, 90_000);

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the banner, naming the API, webhook, token command and storage', () => {
    expect(output).toContain(`http://127.0.0.1:${port}`);
    expect(output).toContain(`http://127.0.0.1:${port}/attesto-webhook`);
    expect(output).toContain('npm run -s token -- alice');
    expect(output).toContain('in memory');
    expect(output).toMatch(/Attesto\s+\S/);
  });

  it('lets a token from `npm run token` through the authorizer to the handler', async () => {
    const { stdout } = await run(TSX, ['dev/local/token.ts', 'alice'], {
      env: { ...process.env, PORT: String(port) },
    });
    const token = stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const res = await fetch(`http://127.0.0.1:${port}/api/iap/entitlements`, {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    expect(res.status).not.toBe(401);
    expect(res.status).not.toBe(404);
  });

  it('tells local tools where the emulators and queues are', async () => {
    const info = (await (await fetch(`http://127.0.0.1:${port}/_dev/runtime`)).json()) as Record<
      string,
      string
    >;
    expect(info.queueUrl).toMatch(/\/attesto-events$/);
    expect(info.dlqUrl).toMatch(/\/attesto-events-dlq$/);
    expect(info.sqsEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('names its admin key in the banner and lets `npm run admin` sign with it, refusing unsigned calls', async () => {
    const info = (await (await fetch(`http://127.0.0.1:${port}/_dev/runtime`)).json()) as {
      adminCredentials: { accessKeyId: string };
    };
    expect(output).toContain('npm run admin -- customer');
    expect(output).toContain(info.adminCredentials.accessKeyId);
    expect(output).not.toContain((info.adminCredentials as { secretAccessKey?: string }).secretAccessKey);
    expect((await fetch(`http://127.0.0.1:${port}/admin/customer?ref=alice`)).status).toBe(403);
    const failed = await run(TSX, ['ops/admin-cli.ts', 'customer', 'nobody-at-all'], {
      env: { ...process.env, PORT: String(port) },
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    // Signed correctly (not 403), and the lookup itself answered: nobody has that reference.
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('No customer or purchase found for "nobody-at-all"');
  });

  it('answers 401 without a token', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/iap/entitlements`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: 'Unauthorized' });
  });

  it('stops everything it started on SIGTERM, the java child included', async () => {
    const pids = descendants(child.pid as number);
    const java = pids.filter((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('DynamoDBLocal.jar'),
    );
    expect(java).toHaveLength(1);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const stopStarted = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Give the grandchildren the moment the kernel needs to reap them.
    const deadline = Date.now() + 15_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    console.info(
      `npm start stopped in ${Date.now() - stopStarted} ms; processes left: ${pids.filter(alive).length}`,
    );
    expect(pids.filter(alive)).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${port}/api/iap/products`)).rejects.toThrow();
  });
});
