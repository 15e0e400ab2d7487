// `npm run token -- <userId>`: prints a 24 h token of the local dev issuer for that user.
// It asks the running `npm start` first (right even for an in-memory run, whose key is never
// written down), then falls back to the key persisted in .local/dev-issuer.json.
import { join } from 'node:path';
import { localApiUrl, localPort, runCli } from './cli';
import { DEV_ISSUER_PATH, type DevIssuerFile, signDevToken } from './dev-issuer';
import { localDataDir, readJsonFile } from './local-data';

async function fromRunningServer(userId: string): Promise<string | undefined> {
  let response: Response;
  try {
    response = await fetch(`${localApiUrl()}${DEV_ISSUER_PATH}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub: userId }),
      signal: AbortSignal.timeout(3_000),
    });
  } catch {
    return undefined; // not running
  }
  if (response.status === 404) {
    throw new Error(
      `the server on port ${localPort()} has no dev issuer (AUTH_ISSUER is set): get a token from your identity provider`,
    );
  }
  if (!response.ok) throw new Error(`the dev issuer answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

async function main(): Promise<number> {
  const userId = process.argv[2]?.trim();
  if (!userId || userId.startsWith('-')) {
    process.stderr.write('usage: npm run token -- <userId>\n');
    return 2;
  }
  const port = localPort();
  const live = await fromRunningServer(userId);
  if (live) {
    process.stdout.write(`${live}\n`);
    return 0;
  }
  const file = join(localDataDir(), 'dev-issuer.json');
  const stored = readJsonFile<DevIssuerFile>(file);
  if (!stored) {
    process.stderr.write(
      `No dev issuer key yet (${file}). Run \`npm start\` once first, then \`npm run token -- ${userId}\`.\n`,
    );
    return 1;
  }
  process.stderr.write(`npm start is not running on port ${port}; signed with the key in ${file}\n`);
  process.stdout.write(`${await signDevToken(stored, userId)}\n`);
  return 0;
}

runCli(main);
