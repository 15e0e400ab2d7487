// `npm run admin -- <command>`: the support and operations CLI over the operator API (/admin/).
//
// Where the API is, first match wins:
//   1. --api <url>: a deployed stack, signed with the caller's AWS credentials (the usual chain:
//      AWS_PROFILE, SSO, environment, instance role …); region from --region, else the URL, else
//      AWS_REGION;
//   2. --stage <name>: the same, at the URL of that stage's stack output `ApiUrl`;
//   3. the running `npm start` on 127.0.0.1:$PORT (3000 by default), signed with the admin
//      credential it generated at start and describes at GET /_dev/runtime.
import { chmodSync, writeFileSync } from 'node:fs';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type {
  CustomerResponse,
  ErasureResponse,
  ResyncResponse,
  TransferResponse,
} from '../shared/admin/response-schemas';
import type { AdminTarget } from './admin-request';
import { callAdmin } from './admin-request';
import { defaultLocalApiUrl, fetchRuntimeInfo, type RuntimeInfo } from './local-runtime-info';
import { StackNotFoundError, stackOutputs } from './stack-outputs';

const USAGE = `usage: npm run admin -- <command> [--json] [--api <url> | --stage <name>] [--region <region>]

  customer <reference>   the customer behind a reference: an app user id (JWT sub), an appUserId
                         uuid, an Apple transaction or original transaction id, a Google purchase
                         token or order id; prints their ids, entitlements, why each
                         entitlement is granted or not, purchases and history
  grant <userId> <key> --until <iso|never> --reason <text>
                         gives the user an entitlement key (a catalog key) until that time or for good
  revoke-grant <userId> <key> [--reason <text>]
                         ends that grant (it stays on record)
  export <userId> [--out <file>]
                         everything stored about the user as one JSON document (always JSON;
                         --out writes it to a file instead of printing it)
  erase <userId> [--reason <text>]
                         erases the user's personal data from every table; their purchases stay,
                         without an owner; erasing again is harmless
  transfer <reference> --to <userId> --reason <text>
                         moves the purchase a reference names (transaction id, original transaction
                         id, purchase token or order id) to another user
  resync <reference> [--reason <text>]
                         re-verifies that purchase through Attesto now and applies what it answers

options:
  --json            print the API's JSON answer instead of the readable view
  --api URL         a deployed stack's API URL (output ApiUrl), signed with your AWS credentials;
                    default: the local runtime on 127.0.0.1:$PORT (PORT=3000)
  --stage NAME      a deployed stage: its stack's ApiUrl output, signed with your AWS credentials
  --region REGION   the stack's region (default: from the URL, else AWS_REGION)
`;

export class UsageError extends Error {}

interface CommonArgs {
  json: boolean;
  api?: string;
  stage?: string;
  region?: string;
}

export type AdminArgs = CommonArgs &
  (
    | { command: 'customer'; ref: string }
    | { command: 'grant'; userId: string; key: string; until: string; reason: string }
    | { command: 'revoke-grant'; userId: string; key: string; reason?: string }
    | { command: 'export'; userId: string; out?: string }
    | { command: 'erase'; userId: string; reason?: string }
    | { command: 'transfer'; ref: string; toUserId: string; reason: string }
    | { command: 'resync'; ref: string; reason?: string }
  );

const VALUE_FLAGS = ['api', 'stage', 'region', 'until', 'reason', 'to', 'out'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

export function parseAdminArgs(argv: readonly string[]): AdminArgs {
  const positional: string[] = [];
  const flags: Partial<Record<ValueFlag, string>> = {};
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') json = true;
    else if (VALUE_FLAGS.includes(arg.slice(2) as ValueFlag) && arg.startsWith('--')) {
      const value = argv[++i];
      if (!value || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      flags[arg.slice(2) as ValueFlag] = value;
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option "${arg}"`);
    else positional.push(arg);
  }
  const { until, reason, to, out, ...target } = flags;
  if (target.api && target.stage) throw new UsageError('pass --api or --stage, not both');
  const common = { json, ...target };
  const [command, first, second, ...extra] = positional;
  if (out && command !== 'export') throw new UsageError('only export takes --out');
  if (to !== undefined && command !== 'transfer')
    throw new UsageError(`${command ?? 'this command'} takes no --to`);
  if (command === 'export' || command === 'erase') {
    if (!first?.trim()) throw new UsageError(`${command} needs a user id`);
    if (second !== undefined) throw new UsageError(`unexpected argument "${second}"`);
    if (until) throw new UsageError(`${command} takes no --until`);
    if (command === 'export') {
      if (reason) throw new UsageError('export takes no --reason');
      return { command, userId: first.trim(), ...(out ? { out } : {}), ...common };
    }
    return { command, userId: first.trim(), ...(reason ? { reason } : {}), ...common };
  }
  if (command === 'customer' || command === 'transfer' || command === 'resync') {
    if (!first?.trim()) throw new UsageError(`${command} needs a reference`);
    if (second !== undefined) throw new UsageError(`unexpected argument "${second}"`);
    if (until) throw new UsageError(`${command} takes no --until`);
    const ref = first.trim();
    if (command === 'customer') {
      if (reason) throw new UsageError('customer takes no --reason');
      return { command, ref, ...common };
    }
    if (command === 'resync') return { command, ref, ...(reason ? { reason } : {}), ...common };
    if (!to?.trim()) throw new UsageError('transfer needs --to <userId>');
    if (!reason?.trim()) throw new UsageError('transfer needs --reason <text>');
    return { command, ref, toUserId: to.trim(), reason, ...common };
  }
  if (command === 'grant' || command === 'revoke-grant') {
    if (!first?.trim() || !second?.trim())
      throw new UsageError(`${command} needs a user id and an entitlement key`);
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (to !== undefined) throw new UsageError(`${command} takes no --to`);
    const ids = { userId: first.trim(), key: second.trim() };
    if (command === 'revoke-grant') {
      if (until) throw new UsageError('revoke-grant takes no --until');
      return { command, ...ids, ...(reason ? { reason } : {}), ...common };
    }
    if (!until) throw new UsageError('grant needs --until <ISO-8601 time|never>');
    if (!reason?.trim()) throw new UsageError('grant needs --reason <text>');
    return { command, ...ids, until, reason, ...common };
  }
  throw new UsageError(command ? `unknown command "${command}"` : 'a command is required');
}

/** Reads a deployed stage's stack outputs; a parameter so tests can answer for CloudFormation. */
export type StackOutputsReader = (stage: string, region: string) => Promise<Record<string, string>>;

export async function resolveAdminTarget(
  args: AdminArgs,
  env: NodeJS.ProcessEnv,
  fetchImpl: typeof fetch = fetch,
  readOutputs: StackOutputsReader = stackOutputs,
): Promise<AdminTarget> {
  if (args.stage) {
    const region = args.region ?? env.AWS_REGION;
    if (!region) throw new UsageError(`no region for stage ${args.stage}: pass --region or set AWS_REGION`);
    let outputs: Record<string, string>;
    try {
      outputs = await readOutputs(args.stage, region);
    } catch (error) {
      if (error instanceof StackNotFoundError) throw new UsageError(error.message);
      throw error;
    }
    const api = outputs.ApiUrl;
    if (!api) throw new UsageError(`the stack of stage ${args.stage} has no ApiUrl output; deploy it again`);
    return { baseUrl: api, region, credentials: defaultProvider(), source: `stage ${args.stage} (${api})` };
  }
  if (args.api) {
    const region =
      args.region ?? /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(args.api)?.[1] ?? env.AWS_REGION;
    if (!region) throw new UsageError(`no region for ${args.api}: pass --region or set AWS_REGION`);
    return { baseUrl: args.api, region, credentials: defaultProvider(), source: args.api };
  }
  const local = defaultLocalApiUrl(env);
  let info: RuntimeInfo;
  try {
    info = await fetchRuntimeInfo(local, fetchImpl);
  } catch (error) {
    throw new UsageError(
      `no local runtime answered at ${local}/_dev/runtime (${(error as Error).message}); start it with npm start, or pass --api <url> for a deployed stack`,
    );
  }
  if (!info.adminCredentials || !info.region)
    throw new UsageError(`${local}/_dev/runtime did not describe an admin credential; restart npm start`);
  return {
    baseUrl: local,
    region: info.region,
    credentials: info.adminCredentials,
    source: `npm start at ${local}`,
  };
}

/** One timeline line: when, what caused it, and each field that changed. */
function historyLine(h: CustomerResponse['history'][number]): string {
  const cause = [h.cause.source, h.cause.event, h.cause.operator, h.cause.reason].filter(Boolean).join(' ');
  const changes = Object.keys(h.after).map(
    (field) =>
      `${field} ${JSON.stringify(h.before[field] ?? null)} → ${JSON.stringify(h.after[field] ?? null)}`,
  );
  const owner =
    h.ownerBefore !== h.ownerAfter
      ? [`owner ${h.ownerBefore ?? '(nobody)'} → ${h.ownerAfter ?? '(nobody)'}`]
      : [];
  return `  ${h.at}  ${h.pk.split('#')[0]}  ${cause}: ${[...changes, ...owner].join(', ') || '(no field changed)'}`;
}

const MATCHED_BY: Record<string, string> = {
  userId: 'app user id',
  appUserId: 'appUserId uuid',
  appleOriginalTransactionId: 'Apple original transaction id',
  appleTransactionId: 'Apple transaction id',
  googlePurchaseToken: 'Google purchase token',
  googleOrderId: 'Google order id',
};

/** The readable view: one screen a support person can read on the phone with a customer. */
export function formatCustomer(view: CustomerResponse): string {
  const lines: string[] = [];
  const matched = MATCHED_BY[view.matchedBy] ?? view.matchedBy;
  if (view.user) {
    lines.push(`Customer ${view.user.userId}  (found by ${matched})`);
    lines.push(`  appUserId  ${view.user.appUserId ?? '(none minted)'}`);
  } else {
    lines.push(`No customer holds this purchase yet  (found by ${matched})`);
  }
  lines.push('', `Entitlements (${view.entitlements.length})`);
  if (!view.entitlements.length) lines.push('  none');
  for (const e of view.entitlements) {
    const from =
      e.source === 'grant'
        ? 'from a promotional grant'
        : `${e.platform}/${e.environment ?? '?'}  from ${e.productId}`;
    lines.push(`  ${e.key}  ${e.expiresAt ? `until ${e.expiresAt}` : 'lifetime'}  ${e.status}  ${from}`);
  }
  const grants = view.grants ?? [];
  if (grants.length) lines.push('', `Grants (${grants.length})`);
  for (const g of grants) {
    const state = g.revokedAt ? `revoked ${g.revokedAt}` : g.live ? 'live' : 'expired';
    lines.push(
      `  ${g.key}  ${g.expiresAt ? `until ${g.expiresAt}` : 'for good'}  ${state}  by ${g.grantedBy} ${g.grantedAt}: ${g.reason}`,
    );
  }
  lines.push('', `Purchases (${view.purchases.length})`);
  for (const p of view.purchases) {
    const expiry = p.expiresAt ? `expires ${p.expiresAt}` : p.status ? 'no expiry' : 'expiry unknown';
    lines.push(
      `  ${p.platform}  ${p.productId ?? '(product unknown)'}  ${p.status ?? '(status unknown)'}  ${expiry}  ${p.environment ?? '?'}`,
    );
    lines.push(
      `      owner ${p.owner ?? '(nobody yet)'}${p.ownership === 'FAMILY_SHARED' ? ' (family sharing)' : ''}  ${p.platform === 'apple' ? 'original transaction' : 'purchase token'} ${p.subjectKey}  updated ${p.updatedAt}`,
    );
  }
  lines.push('', `History (${view.history.length}, newest first)`);
  if (!view.history.length) lines.push('  none recorded');
  for (const h of view.history) lines.push(historyLine(h));
  lines.push('', 'Why (every entitlement key)');
  const width = Math.max(0, ...view.explanation.map((e) => e.key.length));
  for (const e of view.explanation) lines.push(`  ${e.key.padEnd(width)}  ${e.text}`);
  return `${lines.join('\n')}\n`;
}

export async function runAdmin(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  let args: AdminArgs;
  try {
    args = parseAdminArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`${error.message}\n${USAGE}`);
    return 2;
  }
  let target: AdminTarget;
  try {
    target = await resolveAdminTarget(args, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`${error.message}\n`);
    return 2;
  }
  const res = await callAdmin(target, adminRequest(args));
  const body = res.body as { message?: string } | undefined;
  if (res.status === 403) {
    err(
      `${target.source} refused the request (403): the credentials are not allowed to call /admin/ (attach the stack's OperatorPolicyArn to your role)\n`,
    );
    return 1;
  }
  if (res.status !== 200) {
    err(`${body?.message ?? `the API answered ${res.status}`}\n`);
    return 1;
  }
  if (args.command === 'export' && args.out) {
    writeFileSync(args.out, `${JSON.stringify(res.body, null, 2)}\n`, { mode: 0o600 });
    // `mode` applies only to a file it creates: an existing one is made private as well.
    chmodSync(args.out, 0o600);
    out(`Wrote the export of ${args.userId} to ${args.out}\n`);
    return 0;
  }
  // An export is a document for the customer: JSON whatever the flags say.
  const asJson = args.json || args.command === 'export';
  out(asJson ? `${JSON.stringify(res.body, null, 2)}\n` : formatAnswer(args, res.body));
  return 0;
}

function adminRequest(args: AdminArgs): Parameters<typeof callAdmin>[1] {
  switch (args.command) {
    case 'customer':
      return { method: 'GET', path: '/admin/customer', query: { ref: args.ref } };
    case 'grant': {
      const { userId, key, until, reason } = args;
      return { method: 'POST', path: '/admin/grants', body: JSON.stringify({ userId, key, until, reason }) };
    }
    case 'revoke-grant': {
      const { userId, key, reason } = args;
      return { method: 'POST', path: '/admin/grants/revoke', body: JSON.stringify({ userId, key, reason }) };
    }
    case 'export':
      return { method: 'GET', path: '/admin/export', query: { userId: args.userId } };
    case 'erase': {
      const { userId, reason } = args;
      return { method: 'POST', path: '/admin/erase', body: JSON.stringify({ userId, reason }) };
    }
    case 'transfer': {
      const { ref, toUserId, reason } = args;
      return { method: 'POST', path: '/admin/transfer', body: JSON.stringify({ ref, toUserId, reason }) };
    }
    case 'resync': {
      const { ref, reason } = args;
      return { method: 'POST', path: '/admin/resync', body: JSON.stringify({ ref, reason }) };
    }
  }
}

interface GrantAnswer {
  grant: { userId: string; key: string; expiresAt: number | null; reason: string };
  changed?: boolean;
}

export function formatErasure(answer: ErasureResponse): string {
  if (!answer.erased) {
    return `Nothing is stored about ${answer.userId} (already erased, or never known); nothing changed.\n`;
  }
  const counts = Object.entries(answer.counts)
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${what} ${n}`)
    .join(', ');
  return `Erased ${answer.userId} at ${answer.erasedAt}: ${counts}.\nTheir purchases stay, without an owner; only an operator can give them one again.\n`;
}

function purchaseLine(p: TransferResponse['purchase']): string {
  const expiry = p.expiresAt ? `expires ${p.expiresAt}` : p.status ? 'no expiry' : 'expiry unknown';
  return `  ${p.platform}  ${p.productId ?? '(product unknown)'}  ${p.status ?? '(status unknown)'}  ${expiry}  owner ${p.owner ?? '(nobody yet)'}`;
}

function formatTransfer({ changed, from, to, purchase }: TransferResponse): string {
  const head = changed
    ? `Moved the purchase from ${from ?? '(nobody)'} to ${to}.`
    : `The purchase already belongs to ${to}; nothing changed.`;
  return `${head}\n${purchaseLine(purchase)}\n`;
}

function formatResync({ changed, purchase }: ResyncResponse): string {
  const head = changed
    ? 'Re-synced: the store answered something new, now applied.'
    : 'Re-synced: the purchase already matched what the store answered; nothing changed.';
  return `${head}\n${purchaseLine(purchase)}\n`;
}

function formatAnswer(args: AdminArgs, body: unknown): string {
  if (args.command === 'customer') return formatCustomer(body as CustomerResponse);
  if (args.command === 'erase') return formatErasure(body as ErasureResponse);
  if (args.command === 'transfer') return formatTransfer(body as TransferResponse);
  if (args.command === 'resync') return formatResync(body as ResyncResponse);
  const { grant, changed } = body as GrantAnswer;
  if (args.command === 'revoke-grant') {
    return changed === false
      ? `The grant of ${grant.key} to ${grant.userId} was already revoked; nothing changed.\n`
      : `Revoked the grant of ${grant.key} to ${grant.userId}.\n`;
  }
  const until = grant.expiresAt === null ? 'for good' : `until ${new Date(grant.expiresAt).toISOString()}`;
  return `Granted ${grant.key} to ${grant.userId} ${until} (${grant.reason}).\n`;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runAdmin(
    process.argv.slice(2),
    process.env,
    (text) => process.stdout.write(text),
    (text) => process.stderr.write(text),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`npm run admin failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
