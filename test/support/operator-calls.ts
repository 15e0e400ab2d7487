// An operator's calls to a running local runtime: the operator API signed with the runtime's own
// admin credential, and `npm run admin` as a person runs it (it finds the runtime by PORT).
import type { LocalRuntime } from '../../dev/local/local-runtime';
import { LOCAL_REGION } from '../../dev/local/provision';
import { runAdmin } from '../../ops/admin-cli';
import { type AdminTarget, signAdminRequest } from '../../ops/admin-request';
import { rawRequest } from './raw-request';

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
export async function adminCall<J = Record<string, unknown>>(
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
  return rawRequest<J>(url, method, headers, body);
}

/**
 * `npm run admin -- …args` against the runtime, run in this process through the function the
 * script runs (ops/admin-cli.ts runAdmin): a Node process per call was most of these suites' CPU.
 * admin-customer.test.ts runs the script itself. Rejects (with code, stdout, stderr) on a non-zero exit.
 */
export async function adminCli(runtime: LocalRuntime, ...args: string[]) {
  const settled = await adminCliExit(runtime, ...args);
  if (settled.code !== 0) throw Object.assign(new Error(`npm run admin exited ${settled.code}`), settled);
  return { stdout: settled.stdout, stderr: settled.stderr };
}

/** The same, settled: the exit code with what it printed, whatever the code. */
export async function adminCliExit(
  runtime: LocalRuntime,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const env = { ...process.env, PORT: String(runtime.apiUrl.split(':').pop()) };
  const code = await runAdmin(
    args,
    env,
    (text) => {
      stdout += text;
    },
    (text) => {
      stderr += text;
    },
  ).catch((error: unknown) => {
    // What the script prints for an unexpected failure, and its exit code.
    stderr += `npm run admin failed: ${(error as Error).message}\n`;
    return 1;
  });
  return { code, stdout, stderr };
}
