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
const STREAM_READ = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
];

// verify and restore: the alias and purchase reads (GetItem), the recording write (UpdateItem,
// or a transaction of Update + Put for aliases and credits), the byUser query, and one counter
// update per Attesto call in the rate-limit table.
// Every writer of a user's entitlement set: the outbox item, and condition checks (shared/store/outbox.ts).
const OUTBOX = { entitlementEvents: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem'] };

const verifying = {
  purchases: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  'purchases/index/byUser': ['dynamodb:Query'],
  // uuidOfUser / userIdOfUuid: the store's binding.
  userIds: ['dynamodb:GetItem'],
  rateLimits: ['dynamodb:UpdateItem'],
  // The history record of a change, put in the change's transaction.
  history: ['dynamodb:PutItem'],
  ...OUTBOX,
  [API_KEY]: READ_SECRET,
};

const granting = {
  purchases: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
  'purchases/index/byUser': ['dynamodb:Query'],
  userIds: ['dynamodb:GetItem'],
  history: ['dynamodb:PutItem'],
  ...OUTBOX,
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
    purchases: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'purchases/index/byUser': ['dynamodb:Query'],
    userIds: ['dynamodb:GetItem'],
    processedEvents: ['dynamodb:PutItem'],
    history: ['dynamodb:PutItem'],
    ...OUTBOX,
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
  'admin-grant': granting,
  'admin-revoke-grant': granting,
  // Export, read only: the byUser queries, the Scans where no key leads to an item (credits and
  // purchases naming the uuid, rate-limit counters), alias and user-id GetItems, the history
  // queries (both user indexes and each purchase's own records) and the outbox item.
  'admin-export': {
    purchases: ['dynamodb:GetItem', 'dynamodb:Scan'],
    'purchases/index/byUser': ['dynamodb:Query'],
    userIds: ['dynamodb:GetItem'],
    history: ['dynamodb:Query'],
    'history/index/byUser': ['dynamodb:Query'],
    'history/index/byPreviousUser': ['dynamodb:Query'],
    rateLimits: ['dynamodb:Scan'],
    entitlementEvents: ['dynamodb:GetItem'],
  },
  // Erasure: the same finding, then conditional updates of purchases and credits (re-read when a
  // concurrent write wins), batched
  // deletes of grants, history records keyed by the user, counters and the outbox item, history
  // rewrites and the audit record (Put), and the two user-ids items deleted in one transaction.
  'admin-erase': {
    purchases: ['dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
    'purchases/index/byUser': ['dynamodb:Query'],
    userIds: ['dynamodb:DeleteItem', 'dynamodb:GetItem'],
    history: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:Query'],
    'history/index/byUser': ['dynamodb:Query'],
    'history/index/byPreviousUser': ['dynamodb:Query'],
    rateLimits: ['dynamodb:BatchWriteItem', 'dynamodb:Scan'],
    entitlementEvents: ['dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
  },
  // Transfer: the reference lookup (GetItem, byUser, uuid items), the previous owner's uuid, the
  // consumable's credit items; then one transaction of the purchase's Update (pinned to its rev),
  // the history Put and the credit Updates. No Put on purchases: nothing new is created.
  'admin-transfer': {
    purchases: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
    'purchases/index/byUser': ['dynamodb:Query'],
    userIds: ['dynamodb:GetItem'],
    history: ['dynamodb:PutItem'],
    ...OUTBOX,
  },
  // Resync: the reference lookup, one Attesto call, then recordSnapshot as a verify writes it
  // (UpdateItem, or Update + history Put + alias Puts). No rate-limit counter.
  'admin-resync': {
    purchases: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'purchases/index/byUser': ['dynamodb:Query'],
    userIds: ['dynamodb:GetItem'],
    history: ['dynamodb:PutItem'],
    ...OUTBOX,
    [API_KEY]: READ_SECRET,
  },
  // Reads the outbox table's stream only (its event source mapping; the label names the table for
  // both the stream and the table's ListStreams); no item of any table.
  'events-publisher': { entitlementEvents: STREAM_READ },
  // Without a webhook URL (dev) it has no queue, no secret and nothing to read.
  'events-webhook': {},
  // A pass: the due index only (dueItems, countDue), storedItem (GetItem), recordSnapshot (Update
  // + history and alias Puts), recordUnchangedCheck (UpdateItem), userIdOfUuid (GetItem).
  reconcile: {
    purchases: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'purchases/index/byUser': ['dynamodb:Query'],
    'purchases/index/checkDue': ['dynamodb:Query'],
    userIds: ['dynamodb:GetItem'],
    history: ['dynamodb:PutItem'],
    ...OUTBOX,
    [API_KEY]: READ_SECRET,
  },
};

/** Only export and erasure find items no key leads to, and only erasure deletes. */
const MAY_SCAN_OR_DELETE = new Set(['admin-export', 'admin-erase']);

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

  // ConditionCheckItem is allowed: it reads one item's attributes inside a transaction and writes nothing.
  it('grants Scan, DeleteItem or batch only to export and erasure, and table management to none', () => {
    const forbidden = /^dynamodb:(Scan|DeleteItem|Batch.*|DescribeTable|GetRecords|GetShardIterator)$/;
    const management = /^dynamodb:(DescribeTable|GetRecords|GetShardIterator)$/;
    for (const [name, fn] of Object.entries(dev.stack.functions)) {
      // The publisher's stream reads are checked exactly above; stream reads are its whole job.
      if (name === 'events-publisher') continue;
      if (MAY_SCAN_OR_DELETE.has(name)) {
        expect(
          Object.values(matrixOf(dev, fn))
            .flat()
            .filter((a) => management.test(a)),
          name,
        ).toEqual([]);
        continue;
      }
      const actions = Object.values(matrixOf(dev, fn)).flat();
      expect(
        actions.filter((a) => forbidden.test(a)),
        fn.node.id,
      ).toEqual([]);
    }
  });
});
