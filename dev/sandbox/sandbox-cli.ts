// `npm run sandbox -- <command>`: drives the Attesto sandbox (started by `npm start`) through its
// /_sandbox control API — buy something, then renew, cancel, refund … it and watch the webhooks
// reach the backend.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `Usage: npm run sandbox -- <command> [options]

Purchases
  buy <productId> [--platform apple|google] [--user <appUserId>] [--type subscription|product|consumable]
                  [--period-ms <ms>]          create a purchase; prints what the app would verify
  renew <id>                                  next billing period (Apple DID_RENEW / Google 2)
  cancel <id>                                 turn auto-renew off (cancellation scheduled)
  uncancel <id>                               turn auto-renew back on
  fail-billing <id> [--grace]                 renewal payment fails: billing retry, or grace with --grace
  recover <id>                                payment fixed after a failure
  hold <id>                                   Google account hold (on_hold)
  pause <id>                                  Google pause
  expire <id>                                 the subscription ends now
  refund <id> [--transaction <transactionId>] refund (Apple REFUND / Google voided purchase; a Google
                                              order id refunds that order only, access kept)
  revoke <id>                                 Apple family-sharing REVOKE / Google revoke
  upgrade <id> <newProductId>                 change plan (Google: new token linked to the old one)
  family-share <id> [--user <appUserId>]      Apple: share with a family member (FAMILY_SHARED copy)
  list                                        every purchase and its state
  show <id>                                   one purchase in full (JSON)

Webhooks and misbehaviour
  webhooks [<id>]                             webhooks produced so far
  redeliver <eventId>                         send a webhook again (same eventId, fresh signature)
  knobs [--latency <ms>] [--error-rate <0..1>] [--burst-429 <n>] [--retry-after <s>]
        [--hang <n|all>] [--hang-after <ms>] [--clear]
                                              make verify slow, failing, rate-limited or silent
  stats [--reset]                             verify calls and webhook deliveries counted

<id> is the sandbox id (sbx_1), an Apple transaction id, or a Google purchase token / order id.

Options
  --sandbox <url>       sandbox address (default $ATTESTO_SANDBOX_URL, else 127.0.0.1:$ATTESTO_SANDBOX_PORT,
                        else http://127.0.0.1:3001)
  --webhook-url <url>   deliver this command's webhooks here instead of the sandbox's webhook URL
  --no-webhook          build and record the webhooks but do not send them
  --api <url>           the backend, for the printed curl (default http://127.0.0.1:3000)
  --json                print the raw JSON answer
  --print <field>       print one field of the purchase (the new one after an upgrade or family-share),
                        for scripts: token (what the app verifies: Apple transaction id / Google
                        purchase token), id, subjectKey, status, expiresAt, productId, appUserId
                        e.g. TX=$(npm run -s sandbox -- buy premium_monthly --print token);
                        exits 1 if a webhook of the command was not delivered
  -h, --help            this help`;

const OPTIONS = {
  sandbox: { type: 'string' },
  'webhook-url': { type: 'string' },
  'no-webhook': { type: 'boolean' },
  api: { type: 'string' },
  json: { type: 'boolean' },
  print: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  platform: { type: 'string' },
  user: { type: 'string' },
  type: { type: 'string' },
  'period-ms': { type: 'string' },
  grace: { type: 'boolean' },
  transaction: { type: 'string' },
  latency: { type: 'string' },
  'error-rate': { type: 'string' },
  'burst-429': { type: 'string' },
  'retry-after': { type: 'string' },
  hang: { type: 'string' },
  'hang-after': { type: 'string' },
  clear: { type: 'boolean' },
  reset: { type: 'boolean' },
} as const;

const PRINTABLE_FIELDS = [
  'token',
  'id',
  'subjectKey',
  'status',
  'expiresAt',
  'productId',
  'appUserId',
] as const;
type PrintableField = (typeof PRINTABLE_FIELDS)[number];

const SIMPLE_ACTIONS = ['renew', 'cancel', 'uncancel', 'recover', 'hold', 'pause', 'expire', 'revoke'];

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
}

class UsageError extends Error {}

interface PurchaseView {
  id: string;
  token: string;
  platform: 'apple' | 'google';
  productId: string;
  productType: string;
  appUserId: string | null;
  status: string;
  expiresAt: string | null;
  autoRenew: boolean | null;
  subjectKey: string;
  verify: { path: string; body: Record<string, string> };
}

interface Webhook {
  event: string;
  platformEvent: string;
  eventId: string;
  subject: { key: string } | null;
}

interface Delivery {
  eventId: string;
  status: number | null;
  delivered: boolean;
  error?: string;
}

interface ControlResult {
  purchase: PurchaseView;
  created: PurchaseView | null;
  webhooks: Webhook[];
  deliveries: Delivery[];
}

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} needs a non-negative integer, got "${value}"`);
  return Number(value);
}

function shortToken(value: string): string {
  return value.length > 40 ? `${value.slice(0, 32)}…` : value;
}

export async function runSandboxCli(argv: string[], io: CliIo): Promise<number> {
  const doFetch = io.fetch ?? fetch;
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values: flags, positionals } = parsed;
  const [command, ...args] = positionals;
  if (flags.help || !command || command === 'help') {
    io.out(USAGE);
    return command || flags.help ? 0 : 2;
  }
  const fromPort = io.env.ATTESTO_SANDBOX_PORT
    ? `http://127.0.0.1:${io.env.ATTESTO_SANDBOX_PORT}`
    : undefined;
  const base = (flags.sandbox ?? io.env.ATTESTO_SANDBOX_URL ?? fromPort ?? 'http://127.0.0.1:3001').replace(
    /\/+$/,
    '',
  );
  const print = flags.print as PrintableField | undefined;
  if (print !== undefined && !PRINTABLE_FIELDS.includes(print)) {
    io.err(`--print takes one of ${PRINTABLE_FIELDS.join(', ')}; got "${print}"\n\n${USAGE}`);
    return 2;
  }
  const delivery = {
    ...(flags['no-webhook'] ? { deliver: false } : {}),
    ...(flags['webhook-url'] ? { webhookUrl: flags['webhook-url'] } : {}),
  };

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    let response: Response;
    try {
      response = await doFetch(`${base}/_sandbox${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new Error(
        `Cannot reach the Attesto sandbox at ${base}. Is \`npm start\` running? (or pass --sandbox URL)`,
      );
    }
    const json = (await response.json().catch(() => null)) as { error?: string; message?: string } | null;
    if (!response.ok) {
      throw new Error(json?.message ?? `The sandbox answered HTTP ${response.status}`);
    }
    return json;
  };

  const arity = (count: number, shape: string) => {
    if (args.length !== count) throw new UsageError(`${command} takes ${shape}`);
  };

  const printResult = async (result: ControlResult, withVerifyHelp: boolean) => {
    if (print) {
      // A webhook the backend refused must not pass silently in a script.
      const failed = result.deliveries.filter((d) => !d.delivered);
      for (const d of failed)
        io.err(`webhook ${d.eventId} NOT delivered (${d.status === null ? d.error : `HTTP ${d.status}`})`);
      io.out(fieldText((result.created ?? result.purchase)[print]));
      return failed.length === 0;
    }
    if (flags.json) {
      io.out(JSON.stringify(result, null, 2));
      return true;
    }
    printPurchase(io, result.purchase);
    if (result.created) {
      io.out('created:');
      printPurchase(io, result.created);
    }
    for (const webhook of result.webhooks) {
      const d = result.deliveries.find((x) => x.eventId === webhook.eventId);
      const outcome = d
        ? d.delivered
          ? `delivered (HTTP ${d.status})`
          : `NOT delivered (${d.status === null ? d.error : `HTTP ${d.status}`})`
        : 'recorded, not sent (--no-webhook, or the sandbox has no webhook URL)';
      io.out(`  webhook ${webhook.event} [${webhook.platformEvent}] ${webhook.eventId}: ${outcome}`);
    }
    if (withVerifyHelp) {
      const target = result.created ?? result.purchase;
      const info = (await call('GET', '/info')) as { apiKey: string };
      printVerifyHelp(io, target, base, info.apiKey, flags.api ?? 'http://127.0.0.1:3000');
    }
    return true;
  };

  try {
    switch (command) {
      case 'buy': {
        arity(1, '<productId>');
        const platform = flags.platform ?? 'apple';
        if (platform !== 'apple' && platform !== 'google') {
          throw new UsageError(`--platform must be apple or google, got "${platform}"`);
        }
        const type = flags.type;
        if (type !== undefined && !['subscription', 'product', 'consumable'].includes(type)) {
          throw new UsageError(`--type must be subscription, product or consumable, got "${type}"`);
        }
        const periodMs = integerFlag('period-ms', flags['period-ms']);
        const result = (await call('POST', '/purchases', {
          platform,
          productId: args[0],
          ...(flags.user ? { appUserId: flags.user } : {}),
          ...(type ? { type } : {}),
          ...(periodMs !== undefined ? { periodMs } : {}),
          ...delivery,
        })) as ControlResult;
        return (await printResult(result, true)) ? 0 : 1;
      }
      case 'fail-billing':
      case 'refund':
      case 'family-share':
      case 'upgrade':
      case 'renew':
      case 'cancel':
      case 'uncancel':
      case 'recover':
      case 'hold':
      case 'pause':
      case 'expire':
      case 'revoke': {
        const body: Record<string, unknown> = { ...delivery };
        if (command === 'upgrade') {
          arity(2, '<id> <newProductId>');
          body.newProductId = args[1];
        } else {
          arity(1, '<id>');
        }
        if (command === 'fail-billing' && flags.grace) body.grace = true;
        if (command === 'refund' && flags.transaction) body.transactionId = flags.transaction;
        if (command === 'family-share' && flags.user) body.appUserId = flags.user;
        if (
          !SIMPLE_ACTIONS.includes(command) &&
          !['fail-billing', 'refund', 'family-share', 'upgrade'].includes(command)
        ) {
          throw new UsageError(`Unknown command "${command}"`);
        }
        const result = (await call(
          'POST',
          `/purchases/${encodeURIComponent(args[0] ?? '')}/${command}`,
          body,
        )) as ControlResult;
        return (await printResult(result, command === 'upgrade' || command === 'family-share')) ? 0 : 1;
      }
      case 'list': {
        arity(0, 'no arguments');
        const { purchases } = (await call('GET', '/purchases')) as { purchases: PurchaseView[] };
        if (flags.json) io.out(JSON.stringify(purchases, null, 2));
        else if (purchases.length === 0)
          io.out('No purchases yet. Try: npm run sandbox -- buy premium_monthly');
        else for (const p of purchases) printPurchase(io, p);
        return 0;
      }
      case 'show': {
        arity(1, '<id>');
        const { purchase } = (await call('GET', `/purchases/${encodeURIComponent(args[0] ?? '')}`)) as {
          purchase: PurchaseView;
        };
        io.out(print ? fieldText(purchase[print]) : JSON.stringify(purchase, null, 2));
        return 0;
      }
      case 'webhooks': {
        if (args.length > 1) throw new UsageError('webhooks takes at most one <id>');
        const query = args[0] ? `?purchase=${encodeURIComponent(args[0])}` : '';
        const { webhooks } = (await call('GET', `/webhooks${query}`)) as {
          webhooks: (Webhook & { timestamp: string })[];
        };
        if (flags.json) io.out(JSON.stringify(webhooks, null, 2));
        else
          for (const w of webhooks)
            io.out(
              `${w.timestamp}  ${w.eventId}  ${w.event} [${w.platformEvent}]  ${w.subject ? shortToken(w.subject.key) : '(no subject)'}`,
            );
        return 0;
      }
      case 'redeliver': {
        arity(1, '<eventId>');
        const body = flags['webhook-url'] ? { webhookUrl: flags['webhook-url'] } : {};
        const { deliveries } = (await call(
          'POST',
          `/webhooks/${encodeURIComponent(args[0] ?? '')}/deliver`,
          body,
        )) as {
          deliveries: Delivery[];
        };
        for (const d of deliveries) {
          io.out(
            `${d.eventId}: ${d.delivered ? `delivered (HTTP ${d.status})` : `NOT delivered (${d.error ?? `HTTP ${d.status}`})`}`,
          );
        }
        return deliveries.every((d) => d.delivered) ? 0 : 1;
      }
      case 'knobs': {
        arity(0, 'only flags');
        const update: Record<string, unknown> = {};
        if (flags.clear) Object.assign(update, { latencyMs: 0, errorRate: 0, burst429: 0, hang: null });
        const latency = integerFlag('latency', flags.latency);
        if (latency !== undefined) update.latencyMs = latency;
        if (flags['error-rate'] !== undefined) {
          const rate = Number(flags['error-rate']);
          if (!(rate >= 0 && rate <= 1))
            throw new UsageError(`--error-rate must be between 0 and 1, got "${flags['error-rate']}"`);
          update.errorRate = rate;
        }
        const burst = integerFlag('burst-429', flags['burst-429']);
        if (burst !== undefined) update.burst429 = burst;
        const retryAfter = integerFlag('retry-after', flags['retry-after']);
        if (retryAfter !== undefined) update.retryAfterSeconds = retryAfter;
        if (flags.hang !== undefined || flags['hang-after'] !== undefined) {
          const remaining =
            flags.hang === undefined || flags.hang === 'all' ? null : integerFlag('hang', flags.hang);
          update.hang = { remaining, afterMs: integerFlag('hang-after', flags['hang-after']) ?? null };
        }
        const knobs =
          Object.keys(update).length > 0 ? await call('POST', '/knobs', update) : await call('GET', '/knobs');
        io.out(JSON.stringify(knobs, null, 2));
        return 0;
      }
      case 'stats': {
        arity(0, 'only flags');
        io.out(
          JSON.stringify(
            flags.reset ? await call('POST', '/stats/reset', {}) : await call('GET', '/stats'),
            null,
            2,
          ),
        );
        return 0;
      }
      default:
        throw new UsageError(`Unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

function fieldText(value: string | null | undefined): string {
  return value ?? '';
}

function printPurchase(io: CliIo, p: PurchaseView): void {
  const expiry = p.expiresAt ? ` until ${p.expiresAt}` : '';
  const renew = p.autoRenew === null ? '' : p.autoRenew ? ', auto-renew on' : ', auto-renew off';
  const user = p.appUserId ? ` user ${p.appUserId}` : '';
  io.out(`${p.id}  ${p.platform} ${p.productId} (${p.productType})  ${p.status}${expiry}${renew}${user}`);
  if (p.platform === 'apple')
    io.out(`  transactionId ${p.verify.body.transactionId}  originalTransactionId ${p.subjectKey}`);
  else io.out(`  purchaseToken ${p.verify.body.purchaseToken}`);
}

function printVerifyHelp(io: CliIo, p: PurchaseView, sandbox: string, apiKey: string, api: string): void {
  const sandboxBody = JSON.stringify(p.verify.body);
  const appBody =
    p.platform === 'apple'
      ? { productId: p.productId, transactionId: p.verify.body.transactionId, type: p.productType }
      : {
          productId: p.productId,
          purchaseToken: p.verify.body.purchaseToken,
          packageName: p.verify.body.packageName,
          type: p.productType,
        };
  io.out('');
  io.out('Verify it as the app would (through the backend):');
  io.out(
    `  curl -s -X POST ${api}/api/iap/verify/${p.platform} -H "Authorization: Bearer $(npm run -s token -- <userId>)" -H 'Content-Type: application/json' -d '${JSON.stringify(appBody)}'`,
  );
  io.out('Or ask the Attesto sandbox directly:');
  io.out(
    `  curl -s -X POST ${sandbox}${p.verify.path} -H 'Authorization: Bearer ${apiKey}' -H 'Content-Type: application/json' -d '${sandboxBody}'`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await runSandboxCli(process.argv.slice(2), {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    env: process.env,
  });
  process.exitCode = code;
}
