import { describe, expect, it } from 'vitest';
import { type Statement, type Synthesized, synthStage } from './synth';

// What each function's role may do to data and secrets, written out by hand from the calls its
// code makes (shared/store/*, the rate limiter, the credential readers). A grant added to
// infra/functions.ts without a call behind it, or a call without its grant, fails here.

const dev = synthStage({ stage: 'dev' });

/** A readable name for a resource an IAM statement points at: a table, an index, a secret, the queue. */
function labelOf(s: Synthesized, resource: unknown): string {
  const parts: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      const o = value as Record<string, unknown>;
      const id =
        typeof o.Ref === 'string' ? o.Ref : Array.isArray(o['Fn::GetAtt']) ? o['Fn::GetAtt'][0] : undefined;
      if (typeof id === 'string') {
        const type = s.json.Resources[id]?.Type ?? '';
        const table = /^Tables([A-Za-z]+?)[0-9A-F]{8}$/.exec(id)?.[1];
        if (type === 'AWS::DynamoDB::GlobalTable' && table)
          parts.push(table.charAt(0).toLowerCase() + table.slice(1));
        else if (type === 'AWS::SecretsManager::Secret')
          parts.push(`secret:${id.replace(/[0-9A-F]{8}$/, '')}`);
        else if (type === 'AWS::SQS::Queue') parts.push(`queue:${id.replace(/[0-9A-F]{8}$/, '')}`);
        else parts.push(id);
      } else if (Array.isArray(o['Fn::Join'])) walk(o['Fn::Join'][1]);
      else Object.values(o).forEach(walk);
    }
  };
  walk(resource);
  return parts.join('');
}

/** Resource label → sorted data and secret actions, for one function's role. */
function matrixOf(s: Synthesized, fn: { role?: { node: { defaultChild?: unknown } } }) {
  if (!fn.role) throw new Error('function without role');
  const roleId = s.logicalId(fn.role);
  const statements = Object.values(s.json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) => (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[]);
  const matrix: Record<string, string[]> = {};
  for (const st of statements) {
    const actions = (Array.isArray(st.Action) ? st.Action : [st.Action]).filter(
      (a) => a.startsWith('dynamodb:') || a.startsWith('secretsmanager:') || a.startsWith('kms:'),
    );
    if (actions.length === 0) continue;
    expect(st.Effect).toBe('Allow');
    const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
    for (const resource of resources) {
      const label = labelOf(s, resource);
      matrix[label] = [...new Set([...(matrix[label] ?? []), ...actions])].sort();
    }
  }
  return matrix;
}

const API_KEY = 'secret:AttestoCredentialsApiKeySecret';
const WEBHOOK_SECRETS = 'secret:AttestoCredentialsWebhookSecretsSecret';
const READ_SECRET = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];

// verify and restore: the alias and purchase reads (GetItem), the recording write (UpdateItem,
// or a transaction of Update + Put for aliases and credits), the byUser query, and one counter
// update per Attesto call in the rate-limit table.
const verifying = {
  purchases: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  'purchases/index/byUser': ['dynamodb:Query'],
  // uuidOfUser / userIdOfUuid: the store's binding.
  userIds: ['dynamodb:GetItem'],
  rateLimits: ['dynamodb:UpdateItem'],
  // The history record of a change, put in the change's transaction.
  history: ['dynamodb:PutItem'],
  [API_KEY]: READ_SECRET,
};

const expected: Record<string, Record<string, string[]>> = {
  'verify-apple': verifying,
  'verify-google': verifying,
  restore: verifying,
  entitlements: { 'purchases/index/byUser': ['dynamodb:Query'] },
  products: {},
  uuid: { userIds: ['dynamodb:GetItem', 'dynamodb:PutItem'] },
  'attesto-webhook': { [WEBHOOK_SECRETS]: READ_SECRET },
  'apple-notifications': {},
  'google-notifications': {},
  // applyEvent: marker Put + purchase Update + history Put + alias Puts; storedItem/resolveAlias: GetItem;
  // userIdOfUuid: GetItem; markProcessed: Put.
  'webhook-consumer': {
    purchases: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    userIds: ['dynamodb:GetItem'],
    processedEvents: ['dynamodb:PutItem'],
    history: ['dynamodb:PutItem'],
    [API_KEY]: READ_SECRET,
  },
  // Operator lookup, read only: resolveAlias/getPurchase (GetItem), purchasesOfUser (byUser),
  // uuidOfUser/userIdOfUuid (GetItem). No secret, no write.
  'admin-customer': {
    purchases: ['dynamodb:GetItem'],
    'purchases/index/byUser': ['dynamodb:Query'],
    userIds: ['dynamodb:GetItem'],
    history: ['dynamodb:Query'],
    'history/index/byUser': ['dynamodb:Query'],
    'history/index/byPreviousUser': ['dynamodb:Query'],
  },
  // Grant and revoke: read the grant item, then one transaction of its Put (pinned to the
  // version read) and the history record's Put. A revoked grant stays on record: no DeleteItem.
  'admin-grant': { purchases: ['dynamodb:GetItem', 'dynamodb:PutItem'], history: ['dynamodb:PutItem'] },
  'admin-revoke-grant': {
    purchases: ['dynamodb:GetItem', 'dynamodb:PutItem'],
    history: ['dynamodb:PutItem'],
  },
  // A pass: the due index only (dueItems, countDue), storedItem (GetItem), recordSnapshot (Update
  // + history and alias Puts), recordUnchangedCheck (UpdateItem), userIdOfUuid (GetItem).
  reconcile: {
    purchases: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'purchases/index/checkDue': ['dynamodb:Query'],
    userIds: ['dynamodb:GetItem'],
    history: ['dynamodb:PutItem'],
    [API_KEY]: READ_SECRET,
  },
};

describe('least privilege', () => {
  it('builds exactly the functions of the matrix', () => {
    expect(Object.keys(dev.stack.functions).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.keys(expected))(
    '%s may call exactly the DynamoDB and Secrets Manager actions it uses',
    (name) => {
      const fn = dev.stack.functions[name as keyof typeof dev.stack.functions];
      expect(matrixOf(dev, fn)).toEqual(expected[name]);
    },
  );

  it('never grants Scan, DeleteItem, batch or table-management actions to any function', () => {
    const forbidden =
      /^dynamodb:(Scan|DeleteItem|Batch.*|DescribeTable|ConditionCheckItem|GetRecords|GetShardIterator)$/;
    for (const fn of Object.values(dev.stack.functions)) {
      const actions = Object.values(matrixOf(dev, fn)).flat();
      expect(
        actions.filter((a) => forbidden.test(a)),
        fn.node.id,
      ).toEqual([]);
    }
  });
});
