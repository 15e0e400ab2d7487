// docs/openapi.json, built from the route table (which routes exist, and how each is
// authenticated) and ./operations.ts (the zod schemas each handler reads and answers with), so the
// document says what the code does. `npm run openapi` writes it; a test fails when it is stale.
import { errorBodySchema, fieldIssueSchema } from '../../shared/http/error-body';
import { ingestErrorSchema } from '../../shared/ingest/contract-schemas';
import { entitlementSchema, isoTimeSchema, rejectionSchema } from '../../shared/purchases/response-schemas';
import type { AnySchema } from '../../shared/validation';
import * as z from '../../shared/validation';
import { type Route, routeTable } from '../routes';
import { OPERATIONS, type Operation } from './operations';

// biome-ignore lint/suspicious/noExplicitAny: a JSON document, read by OpenAPI tools and validators
type Json = any;

/** API Gateway's own answers (authorizers, throttling, payload limit, a failed or timed-out function). */
const gatewayErrorSchema = z.object({ message: z.string() });

/** Schemas several operations share, under the names a generated client gives them. */
const SHARED_RESPONSE_SCHEMAS: [string, AnySchema, string][] = [
  ['Timestamp', isoTimeSchema, 'An ISO-8601 time'],
  [
    'Entitlement',
    entitlementSchema,
    "The SDK's entitlement object, with what this backend adds (contract §1.11)",
  ],
  ['Rejection', rejectionSchema, 'A store\'s "no", answered with HTTP 200 (contract §1.6, §1.12)'],
  ['ErrorBody', errorBodySchema, "The handlers' one error body (architecture §6)"],
  ['FieldIssue', fieldIssueSchema, 'One bad field of a 400'],
  ['IngestError', ingestErrorSchema, "The webhooks' error answer: it says nothing about which check failed"],
  ['GatewayError', gatewayErrorSchema, "API Gateway's own answer, given before or instead of a function's"],
];

const STATUS_TEXT: Record<number, string> = {
  400: 'The body or a parameter is invalid (INVALID_REQUEST, with `issues` naming each bad field)',
  401: 'No valid credential for this route',
  403: 'Not signed with AWS credentials allowed to invoke the operator API (API Gateway, before any function)',
  404: 'Nothing matches what was asked for (NOT_FOUND; the message names what was searched)',
  413: 'The body is larger than the route accepts',
  415: 'The body is not JSON (UNSUPPORTED_MEDIA_TYPE)',
  429: "Past the user's Attesto call limit (RATE_LIMITED) or API Gateway's throttling; honour Retry-After",
  500: 'Unexpected failure; the body carries only a request id, the details are logged',
  502: "Attesto refused this backend's own credentials or answered nonsense (UPSTREAM_ERROR); never 401",
  503: 'A dependency is briefly unavailable (SERVICE_UNAVAILABLE); retry after Retry-After',
};

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
};

const SECURITY_SCHEMES = {
  userJwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      "The app's user token, checked by API Gateway's JWT authorizer (the stage's issuer and audience); " +
      'the user id is its `sub` claim.',
  },
  awsSigV4: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description:
      'AWS Signature Version 4 for the `execute-api` service, with credentials allowed by the stack output ' +
      '`OperatorPolicyArn` (API Gateway IAM authorization). `npm run admin` signs for you.',
  },
  attestoSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'x-attesto-signature',
    description:
      "Attesto's HMAC-SHA256 over the timestamp and the raw body, with the stage's webhook secret.",
  },
  pubsubPushToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      "Google's OIDC token of the Pub/Sub push subscription's service account, for the configured audience.",
  },
};

const named = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** The components of one side (what callers send, or what the API answers), with their references. */
function componentsOf(entries: [string, AnySchema, string?][], io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string; description?: string }>();
  const seen = new Map<AnySchema, string>();
  for (const [name, schema, description] of entries) {
    const known = seen.get(schema);
    if (known === name) continue;
    if (known) throw new Error(`One schema is named both ${known} and ${name}`);
    seen.set(schema, name);
    registry.add(schema, description ? { id: name, description } : { id: name });
  }
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    metadata: registry,
    io,
    uri: (id) => `#/components/schemas/${id}`,
    // A transform's output is not sent over the wire; on the input side it never appears.
    unrepresentable: 'any',
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

function inlineSchema(schema: AnySchema): Json {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as Json;
  delete json.$schema;
  return json;
}

function securityOf(route: Route, operation: Operation): Json[] | undefined {
  if (route.auth === 'user') return [{ userJwt: [] }];
  if (route.auth === 'operator') return [{ awsSigV4: [] }];
  switch (operation.security) {
    case 'attestoSignature':
      return [{ attestoSignature: [] }];
    case 'pubsubPushToken':
      return [{ pubsubPushToken: [] }];
    case 'public-or-user':
      return [{}, { userJwt: [] }];
    default:
      return [];
  }
}

/** Every status the route may answer, and who answers it: the handler, API Gateway, or either. */
function statusesOf(route: Route, operation: Operation): Map<number, { app: boolean; gateway: boolean }> {
  const statuses = new Map<number, { app: boolean; gateway: boolean }>();
  const add = (status: number, by: 'app' | 'gateway') => {
    const entry = statuses.get(status) ?? { app: false, gateway: false };
    entry[by] = true;
    statuses.set(status, entry);
  };
  for (const status of operation.statuses) add(status, 'app');
  add(500, 'app');
  if (route.auth === 'user' || operation.security === 'public-or-user') add(401, 'gateway');
  // A user route's handler refuses a token without a `sub` claim itself.
  if (route.auth === 'user') add(401, 'app');
  if (route.auth === 'operator') add(403, 'gateway');
  if (route.method === 'POST') add(413, 'gateway');
  for (const status of [429, 500, 503]) add(status, 'gateway');
  return new Map([...statuses].sort(([a], [b]) => a - b));
}

function responsesOf(route: Route, operation: Operation): Json {
  const responses: Json = {
    200: {
      description: operation.ok.description,
      content: { 'application/json': { schema: named(operation.ok.name) } },
    },
  };
  const appError = named(operation.ingest ? 'IngestError' : 'ErrorBody');
  for (const [status, by] of statusesOf(route, operation)) {
    const schema =
      by.app && by.gateway
        ? { anyOf: [appError, named('GatewayError')] }
        : by.app
          ? appError
          : named('GatewayError');
    responses[status] = {
      description: STATUS_TEXT[status],
      ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
      content: { 'application/json': { schema } },
    };
  }
  return responses;
}

/** The routes the document covers: every one the route table can hold, the optional ones included. */
export function documentedRoutes(): Route[] {
  return routeTable({ appleNotifications: true, googleNotifications: true });
}

export function openApiDocument(
  routes: readonly Route[] = documentedRoutes(),
  operations: Readonly<Record<string, Operation>> = OPERATIONS,
): Json {
  const requests: [string, AnySchema][] = [];
  const answers: [string, AnySchema, string?][] = [...SHARED_RESPONSE_SCHEMAS];
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    const operation = operations[key];
    if (!operation) {
      throw new Error(`${key} is in the route table but not in infra/openapi/operations.ts: add its entry`);
    }
    if (operation.body) requests.push([operation.body.name, operation.body.schema]);
    answers.push([operation.ok.name, operation.ok.schema]);
    const security = securityOf(route, operation);
    paths[route.path] = {
      ...paths[route.path],
      [route.method.toLowerCase()]: {
        operationId: operation.operationId,
        tags: [operation.tag],
        summary: operation.summary,
        ...(operation.description ? { description: operation.description } : {}),
        ...(security ? { security } : {}),
        ...(operation.query
          ? {
              parameters: operation.query.map((q) => ({
                name: q.name,
                in: 'query',
                required: true,
                description: q.description,
                schema: inlineSchema(q.schema),
              })),
            }
          : {}),
        ...(operation.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: named(operation.body.name) } },
              },
            }
          : {}),
        responses: responsesOf(route, operation),
      },
    };
  }
  const requestComponents = componentsOf(requests, 'input');
  const answerComponents = componentsOf(answers, 'output');
  for (const name of Object.keys(requestComponents)) {
    if (name in answerComponents) throw new Error(`${name} names both a request and an answer schema`);
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'iap-backend',
      version: '1',
      description:
        'The client API the @nossdev/iap SDK calls, the webhooks Attesto and the stores send, and the ' +
        'operator API. Generated from the zod schemas the handlers use (`npm run openapi`); see docs/openapi.md.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'A deployed stage (the stack output ApiUrl)',
        variables: { apiId: { default: 'abc123' }, region: { default: 'eu-west-1' } },
      },
      { url: 'http://127.0.0.1:3000', description: '`npm start`' },
    ],
    tags: [
      { name: 'App', description: 'Called by the app through the SDK, with the user token' },
      {
        name: 'Store webhooks',
        description: 'Sent by Attesto, Apple or Google; each authenticated by its signature',
      },
      {
        name: 'Operator',
        description: 'Support and operations (docs/support.md), signed with AWS credentials',
      },
    ],
    paths,
    components: {
      schemas: { ...requestComponents, ...answerComponents },
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

/** Objects' keys sorted at every level below the top (which keeps OpenAPI's usual order); arrays as they are. */
function sortedKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedKeys(value[key])]),
  );
}

/** The text of docs/openapi.json: stable key order, two-space indentation, a final newline. */
export function renderOpenApi(document: Json = openApiDocument()): string {
  const top = Object.fromEntries(Object.entries(document).map(([key, value]) => [key, sortedKeys(value)]));
  return `${JSON.stringify(top, null, 2)}\n`;
}
