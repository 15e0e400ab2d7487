// An operator's calls to a running local runtime: the operator API signed with the runtime's own
// admin credential, and `npm run admin` run as a person runs it (it finds the runtime by PORT).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import { LOCAL_REGION } from '../../dev/local/provision';
import { type AdminTarget, signAdminRequest } from '../../ops/admin-request';
import { rawRequest } from './raw-request';

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

/** The local runtime as `npm run admin` targets it: its URL and the admin credential it generated. */
export function localAdminTarget(runtime: LocalRuntime): AdminTarget {
  return {
    baseUrl: runtime.apiUrl,
    region: LOCAL_REGION,
    credentials: runtime.adminCredentials,
    source: 'test',
  };
}

/** One signed call to the operator API (/admin/…). */
export async function adminCall(
  target: AdminTarget,
  method: 'GET' | 'POST',
  path: string,
  payload?: unknown,
  query?: Record<string, string>,
) {
  const body = payload === undefined ? undefined : JSON.stringify(payload);
  const { url, headers } = await signAdminRequest(target, {
    method,
    path,
    ...(query ? { query } : {}),
    ...(body === undefined ? {} : { body }),
  });
  return rawRequest<Record<string, unknown>>(url, method, headers, body);
}

/** `npm run admin -- …args` against the runtime; rejects (with code, stdout, stderr) on a non-zero exit. */
export function adminCli(runtime: LocalRuntime, ...args: string[]) {
  return run(TSX, ['ops/admin-cli.ts', ...args], {
    env: { ...process.env, PORT: String(runtime.apiUrl.split(':').pop()) },
  });
}

/** The same, settled: the exit code with what it printed, whatever the code. */
export async function adminCliExit(
  runtime: LocalRuntime,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await adminCli(runtime, ...args);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
