// One HTTP request with exactly the headers given (no fetch defaults), for signature tests: the
// answer's status and parsed JSON body.
import { request as httpRequest } from 'node:http';

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
        resolve({ status: res.statusCode ?? 0, json: (text ? JSON.parse(text) : undefined) as J });
      });
    });
    req.once('error', reject);
    req.end(body);
  });
}
