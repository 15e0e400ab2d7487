// Stands in for `node-fetch` in the Lambda bundles (the function factory aliases it here).
// Lambda's Node has fetch built in; node-fetch would add it again, with whatwg-url and tr46
// (~300 KB, most of the Apple notification bundle's weight beyond the SDK). Its only user is
// @apple/app-store-server-library, which calls `fetch(url, { method, headers, body, timeout })`,
// builds `new Headers()`, and reads the answer with `response.ok`, `status`, `json()`, `text()`
// and node-fetch's `buffer()`. Tests and the local runtime (tsx) load the real node-fetch.

type NodeFetchInit = RequestInit & {
  /** node-fetch's overall time limit in milliseconds (0: none). */
  timeout?: number;
};

export type NodeFetchResponse = Response & { buffer(): Promise<Buffer> };

/** node-fetch's name for a failure while talking to the server; callers classify on it. */
class FetchError extends Error {
  readonly type = 'system';
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'FetchError';
  }
}

export default async function fetch(
  url: string | URL | Request,
  init: NodeFetchInit = {},
): Promise<NodeFetchResponse> {
  const { timeout, ...rest } = init;
  const signals = [rest.signal, timeout ? AbortSignal.timeout(timeout) : undefined].filter(
    (s): s is AbortSignal => s instanceof AbortSignal,
  );
  const response = (await globalThis.fetch(url, {
    ...rest,
    ...(signals.length > 0 ? { signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals) } : {}),
  })) as NodeFetchResponse;
  response.buffer = async () => {
    try {
      return Buffer.from(await response.arrayBuffer());
    } catch (error) {
      // As node-fetch reports a body cut off mid-read: a network failure, not malformed data.
      throw new FetchError(`reading the response from ${String(url)} failed`, error);
    }
  };
  return response;
}

export const Headers = globalThis.Headers;
export const Request = globalThis.Request;
export const Response = globalThis.Response;
export { FetchError };
