// Calls a test makes to a running local runtime (what `npm start` serves) and its Attesto sandbox.

/** A dev JWT for `sub` from the local runtime's issuer. */
export async function devToken(apiUrl: string, sub: string): Promise<string> {
  const res = await fetch(`${apiUrl}/_dev/issuer/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub }),
  });
  if (res.status !== 200) throw new Error(`the dev issuer answered ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/** A user's call to the app API: GET without a body, POST with one. */
export async function userCall(apiUrl: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${apiUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A sandbox control call (buy, renew, …); throws unless it succeeded. */
export async function sandboxCall<T>(sandboxUrl: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${sandboxUrl}/_sandbox${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300)
    throw new Error(`the sandbox answered ${res.status} to ${path}: ${await res.text()}`);
  return (await res.json()) as T;
}
