// One HTTP request with exactly the headers given (no fetch defaults), for signature tests: the
// answer's status and parsed JSON body, checked against docs/openapi.json like every answer the
// end-to-end tests receive.
import { request as httpRequest } from 'node:http';
import { assertDocumentedAnswer } from './api-contract';

export function rawRequest<J = unknown>(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; json: J }> {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest(url, { method, headers: { ...headers, ...length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        try {
          assertDocumentedAnswer({
            method,
            url,
            status,
            contentType: res.headers['content-type'] ?? null,
            text,
          });
        } catch (error) {
          reject(error);
          return;
        }
        resolve({ status, json: (text ? JSON.parse(text) : undefined) as J });
      });
    });
    req.once('error', reject);
    req.end(body);
  });
}
