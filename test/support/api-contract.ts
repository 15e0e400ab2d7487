// Checks an answer of the API against docs/openapi.json: the operation's method and path, a status
// the operation documents, and a body its schema accepts. The end-to-end tests run every answer
// they receive through it (./api-contract-setup.ts hooks `fetch`; ./raw-request.ts calls it).
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const DOCUMENT_URL = new URL('../../docs/openapi.json', import.meta.url);
const DOCUMENT_ID = 'https://iap-backend.invalid/openapi.json';

// biome-ignore lint/suspicious/noExplicitAny: a JSON document
type Json = any;

export interface ApiAnswer {
  method: string;
  /** The full URL or just the path; the query is ignored. */
  url: string;
  status: number;
  contentType: string | null;
  /** The body as received. */
  text: string;
}

export class ApiContract {
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly operations: { method: string; pattern: RegExp; path: string; operation: Json }[] = [];

  constructor(readonly document: Json) {
    this.ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats.default(this.ajv);
    // The document's OpenAPI keywords around its schemas, so strict mode accepts the whole file.
    this.ajv.addVocabulary(['openapi', 'info', 'servers', 'tags', 'paths', 'components']);
    this.ajv.addSchema({ ...document, $id: DOCUMENT_ID });
    for (const [path, item] of Object.entries<Json>(document.paths ?? {})) {
      const pattern = new RegExp(
        `^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`,
      );
      for (const [method, operation] of Object.entries<Json>(item)) {
        this.operations.push({ method: method.toUpperCase(), pattern, path, operation });
      }
    }
  }

  /** The documented operation a request names, or undefined for one the API does not have (sandbox, dev issuer). */
  operationOf(method: string, url: string): { path: string; operation: Json } | undefined {
    const pathname = new URL(url, 'http://127.0.0.1').pathname;
    return this.operations.find((o) => o.method === method.toUpperCase() && o.pattern.test(pathname));
  }

  /** What is wrong with an answer; empty when the document allows it or the request is not the API's. */
  problemsOf(answer: ApiAnswer): string[] {
    const found = this.operationOf(answer.method, answer.url);
    if (!found) return [];
    const name = `${answer.method.toUpperCase()} ${found.path} → ${answer.status}`;
    const responses = found.operation.responses ?? {};
    const status = String(answer.status) in responses ? String(answer.status) : 'default';
    const response = responses[status];
    if (!response) {
      const documented = Object.keys(responses).join(', ');
      return [
        `${name}: status not documented (the document lists ${documented}); body: ${answer.text.slice(0, 300)}`,
      ];
    }
    const media = response.content?.['application/json'];
    if (!media?.schema) return [];
    if (!answer.contentType || !/^application\/json\b/i.test(answer.contentType)) {
      return [`${name}: content-type ${answer.contentType ?? 'none'}, the document says application/json`];
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return [`${name}: the body is not JSON: ${answer.text.slice(0, 300)}`];
    }
    const validate = this.validatorFor(found.path, answer.method.toLowerCase(), status);
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (e) => `${name}: ${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`,
    );
  }

  private validatorFor(path: string, method: string, status: string): ValidateFunction {
    const pointer = ['paths', path, method, 'responses', status, 'content', 'application/json', 'schema']
      .map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1'))
      .join('/');
    const ref = `${DOCUMENT_ID}#/${pointer}`;
    let validate = this.validators.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.validators.set(ref, validate);
    }
    return validate;
  }
}

let committed: ApiContract | undefined;

/** The contract in docs/openapi.json, as committed (a unit test keeps it current). */
export function apiContract(): ApiContract {
  committed ??= new ApiContract(JSON.parse(readFileSync(DOCUMENT_URL, 'utf8')));
  return committed;
}

/** Throws, naming every problem, when the answer is not what the document says. */
export function assertDocumentedAnswer(answer: ApiAnswer, contract: ApiContract = apiContract()): void {
  const problems = contract.problemsOf(answer);
  if (problems.length > 0) {
    throw new Error(`The answer does not match docs/openapi.json:\n  ${problems.join('\n  ')}`);
  }
}

/**
 * `fetch` that checks every answer of the API against the document before handing it back. A
 * mismatch throws, and is also passed to `onProblem` (a caller such as the Attesto sandbox's
 * webhook delivery may swallow the throw).
 */
export function contractCheckedFetch(
  inner: typeof fetch,
  options: { contract?: () => ApiContract; onProblem?: (error: Error) => void } = {},
): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    const url = input instanceof Request ? input.url : String(input);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const contract = (options.contract ?? apiContract)();
    if (!contract.operationOf(method, url)) return response;
    const text = await response.clone().text();
    try {
      assertDocumentedAnswer(
        { method, url, status: response.status, contentType: response.headers.get('content-type'), text },
        contract,
      );
    } catch (error) {
      options.onProblem?.(error as Error);
      throw error;
    }
    return response;
  };
}
