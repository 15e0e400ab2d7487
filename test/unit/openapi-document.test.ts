import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { documentedRoutes, openApiDocument, renderOpenApi } from '../../infra/openapi/document';
import { OPERATIONS } from '../../infra/openapi/operations';
import { routeTable } from '../../infra/routes';
import { ApiContract } from '../support/api-contract';

const COMMITTED = new URL('../../docs/openapi.json', import.meta.url);

const operationKeys = (document: { paths: Record<string, Record<string, unknown>> }) =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
  );

describe('docs/openapi.json', () => {
  it('is what `npm run openapi` writes from the code today', () => {
    const committed = readFileSync(COMMITTED, 'utf8');
    const current = renderOpenApi();
    if (committed !== current) {
      expect.fail(
        'docs/openapi.json is stale: the route table or a schema changed. Run `npm run openapi` and commit it.',
      );
    }
  });

  it('has exactly the routes of the route table, optional routes included, whatever the options', () => {
    const documented = operationKeys(openApiDocument()).sort();
    const everyRoute = new Set<string>();
    for (const productsRequireAuth of [false, true]) {
      for (const optional of [false, true]) {
        const routes = routeTable({
          productsRequireAuth,
          appleNotifications: optional,
          googleNotifications: optional,
        });
        for (const route of routes) everyRoute.add(`${route.method} ${route.path}`);
      }
    }
    expect(documented).toEqual([...everyRoute].sort());
    expect(Object.keys(OPERATIONS).sort()).toEqual(documented);
  });

  it('refuses to build when a route has no entry in infra/openapi/operations.ts, naming it', () => {
    const routes = [
      ...documentedRoutes(),
      { method: 'POST', path: '/admin/new', fn: 'admin-grant', auth: 'operator' } as const,
    ];
    expect(() => openApiDocument(routes)).toThrow(
      'POST /admin/new is in the route table but not in infra/openapi/operations.ts',
    );
  });

  it('describes each route with the auth the route table gives it', () => {
    const document = openApiDocument();
    for (const route of documentedRoutes()) {
      const operation = document.paths[route.path][route.method.toLowerCase()];
      const schemes = operation.security.flatMap((s: Record<string, unknown>) => Object.keys(s));
      if (route.auth === 'user') expect(schemes, route.path).toEqual(['userJwt']);
      if (route.auth === 'operator') {
        expect(schemes, route.path).toEqual(['awsSigV4']);
        expect(operation.responses['403'], route.path).toBeDefined();
      }
      if (route.auth === 'none') expect(schemes, route.path).not.toContain('awsSigV4');
    }
  });

  it('holds only schemas a strict JSON Schema 2020-12 validator compiles', () => {
    const contract = new ApiContract(openApiDocument());
    let compiled = 0;
    for (const [path, item] of Object.entries<Record<string, { responses: Record<string, unknown> }>>(
      contract.document.paths,
    )) {
      for (const [method, operation] of Object.entries(item)) {
        for (const status of Object.keys(operation.responses)) {
          // An answer with an impossible body: the validator must compile and then say why.
          const problems = contract.problemsOf({
            method,
            url: path,
            status: Number(status),
            contentType: 'application/json',
            text: '[]',
          });
          expect(problems.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
          compiled += 1;
        }
      }
    }
    expect(compiled).toBeGreaterThan(50);
  });
});
