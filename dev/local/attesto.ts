// Which Attesto the local functions talk to: the real one when ATTESTO_URL and its credentials
// are set, otherwise the built-in Attesto sandbox with generated test credentials that are kept
// in .local/dev-secrets.json (same shape as the deployed Secrets Manager secret).
import { randomBytes } from 'node:crypto';
import type { AttestoSandbox, AttestoSandboxOptions } from '../sandbox/server';
import { readJsonFile, writePrivateJsonFile } from './local-data';

export interface DevSecrets {
  attestoApiKey: string;
  webhookSecrets: string[];
}

export interface AttestoChoice {
  mode: 'real' | 'sandbox' | 'unavailable';
  /** Variables the functions read (ATTESTO_URL, ATTESTO_API_KEY, ATTESTO_WEBHOOK_SECRET). */
  env: Record<string, string>;
  /** One line for the start-up banner. */
  description: string;
  /** Shown prominently at start (the sandbox is missing, …). */
  warning?: string;
  stop(): Promise<void>;
}

export interface AttestoOptions {
  env: NodeJS.ProcessEnv;
  /** Our own webhook endpoint, where the sandbox delivers its events. */
  webhookUrl: string;
  sandboxPort: number;
  /** Absent with --in-memory: nothing is written. */
  dataFile?: string;
  secretsFile?: string;
  packageName: string;
  bundleId: string;
  /** Overridable in tests; defaults to importing the sandbox module. */
  loadSandbox?: () => Promise<SandboxModule>;
}

/** The part of the sandbox module the runtime uses; tests pass a fake. */
export interface SandboxModule {
  startAttestoSandbox(options: AttestoSandboxOptions): Promise<Pick<AttestoSandbox, 'url' | 'stop'>>;
}

/** Shows enough of a secret to tell two apart, never enough to use it. */
export function maskSecret(secret: string): string {
  return secret.length <= 8 ? '••••' : `${secret.slice(0, 4)}…${secret.slice(-2)} (${secret.length} chars)`;
}

/** Attesto's key format: `attesto_test_` + 43 base64url characters. */
function generateTestApiKey(): string {
  return `attesto_test_${randomBytes(32).toString('base64url')}`;
}

/** What `openssl rand -base64 32` gives, the form Attesto's docs use for webhook secrets. */
function generateWebhookSecret(): string {
  return randomBytes(32).toString('base64');
}

function loadOrCreateDevSecrets(file: string | undefined): DevSecrets {
  const stored = file ? readJsonFile<DevSecrets>(file) : undefined;
  if (stored?.attestoApiKey && stored.webhookSecrets?.[0]) return stored;
  const secrets = { attestoApiKey: generateTestApiKey(), webhookSecrets: [generateWebhookSecret()] };
  if (file) writePrivateJsonFile(file, secrets);
  return secrets;
}

// Loaded only when no real Attesto is configured, so a run against the real one never pays for it.
const defaultLoadSandbox = (): Promise<SandboxModule> => import('../sandbox/server');

export async function chooseAttesto(options: AttestoOptions): Promise<AttestoChoice> {
  const { env } = options;
  const noop = async () => {};
  if (env.ATTESTO_URL) {
    const missing = ['ATTESTO_API_KEY', 'ATTESTO_WEBHOOK_SECRET'].filter((name) => !env[name]);
    if (missing.length) {
      throw new Error(
        `ATTESTO_URL is set, so ${missing.join(' and ')} must be set too (or unset ATTESTO_URL to use the sandbox)`,
      );
    }
    return {
      mode: 'real',
      env: {},
      description: `${env.ATTESTO_URL.replace(/\/+$/, '')} (from ATTESTO_URL)`,
      stop: noop,
    };
  }

  let sandbox: SandboxModule;
  try {
    sandbox = await (options.loadSandbox ?? defaultLoadSandbox)();
    if (typeof sandbox.startAttestoSandbox !== 'function')
      throw new Error('startAttestoSandbox is not exported');
  } catch (error) {
    const warning =
      `The built-in Attesto sandbox is not available (${(error as Error).message.split('\n')[0]}). ` +
      'Verify and restore calls will fail until ATTESTO_URL, ATTESTO_API_KEY and ATTESTO_WEBHOOK_SECRET are set.';
    return {
      mode: 'unavailable',
      env: {},
      description: 'not available (set ATTESTO_URL …)',
      warning,
      stop: noop,
    };
  }

  const secrets = loadOrCreateDevSecrets(options.secretsFile);
  const webhookSecret = secrets.webhookSecrets[0] as string;
  const server = await sandbox.startAttestoSandbox({
    port: options.sandboxPort,
    ...(options.dataFile ? { dataFile: options.dataFile } : {}),
    apiKey: secrets.attestoApiKey,
    webhookSecret,
    webhookUrl: options.webhookUrl,
    packageName: options.packageName,
    bundleId: options.bundleId,
  });
  return {
    mode: 'sandbox',
    env: {
      ATTESTO_URL: server.url.replace(/\/+$/, ''),
      ATTESTO_API_KEY: secrets.attestoApiKey,
      ATTESTO_WEBHOOK_SECRET: webhookSecret,
    },
    description: `${server.url} (built-in sandbox, webhook secret ${maskSecret(webhookSecret)})`,
    stop: () => server.stop(),
  };
}
