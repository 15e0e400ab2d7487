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
/** Lifecycle steps that read flags or a second argument. */
const ACTIONS_WITH_OPTIONS = ['fail-billing', 'refund', 'family-share', 'upgrade'];

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

type ParsedArgs = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>
>;
type Flags = ParsedArgs['values'];

type ControlCall = (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<unknown>;

/** One command line, parsed: what every command needs. */
interface Invocation {
  io: CliIo;
  flags: Flags;
  command: string;
  args: string[];
  /** The sandbox's base URL, without a trailing slash. */
  base: string;
  print: PrintableField | undefined;
  /** Where the sandbox sends the webhooks of a step (by default, its configured webhook URL). */
  delivery: { deliver?: false; webhookUrl?: string };
  call: ControlCall;
}

export async function runSandboxCli(argv: string[], io: CliIo): Promise<number> {
  const invocation = parseCommandLine(argv, io);
  if (typeof invocation === 'number') return invocation;
  try {
    return await runCommand(invocation);
  } catch (error) {
    return reportError(io, error);
  }
}

/** The parsed command line, or the exit code when there is nothing to run (help, bad flags). */
function parseCommandLine(argv: string[], io: CliIo): Invocation | number {
  let parsed: ParsedArgs;
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
  const base = sandboxBaseUrl(flags, io.env);
  const print = flags.print as PrintableField | undefined;
  if (print !== undefined && !PRINTABLE_FIELDS.includes(print)) {
    io.err(`--print takes one of ${PRINTABLE_FIELDS.join(', ')}; got "${print}"\n\n${USAGE}`);
    return 2;
  }
  const delivery = {
    ...(flags['no-webhook'] ? { deliver: false as const } : {}),
    ...(flags['webhook-url'] ? { webhookUrl: flags['webhook-url'] } : {}),
  };
  const call = controlApi(base, io.fetch ?? fetch);
  return { io, flags, command, args, base, print, delivery, call };
}

function sandboxBaseUrl(flags: Flags, env: NodeJS.ProcessEnv): string {
  const fromPort = env.ATTESTO_SANDBOX_PORT ? `http://127.0.0.1:${env.ATTESTO_SANDBOX_PORT}` : undefined;
  return (flags.sandbox ?? env.ATTESTO_SANDBOX_URL ?? fromPort ?? 'http://127.0.0.1:3001').replace(
    /\/+$/,
    '',
  );
}

/** Calls the sandbox's /_sandbox control API; a refusal becomes an error carrying the sandbox's message. */
function controlApi(base: string, doFetch: typeof fetch): ControlCall {
  return async (method, path, body) => {
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
}

const COMMANDS: Record<string, (cli: Invocation) => Promise<number>> = {
  buy,
  list,
  show,
  webhooks,
  redeliver,
  knobs,
  stats,
  ...Object.fromEntries([...SIMPLE_ACTIONS, ...ACTIONS_WITH_OPTIONS].map((action) => [action, act])),
};

function runCommand(cli: Invocation): Promise<number> {
  const run = Object.hasOwn(COMMANDS, cli.command) ? COMMANDS[cli.command] : undefined;
  if (!run) throw new UsageError(`Unknown command "${cli.command}"`);
  return run(cli);
}

function reportError(io: CliIo, error: unknown): number {
  if (error instanceof UsageError) {
    io.err(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}

function expectArgs(cli: Invocation, count: number, shape: string): void {
  if (cli.args.length !== count) throw new UsageError(`${cli.command} takes ${shape}`);
}

async function buy(cli: Invocation): Promise<number> {
  const { flags } = cli;
  expectArgs(cli, 1, '<productId>');
  const platform = flags.platform ?? 'apple';
  if (platform !== 'apple' && platform !== 'google') {
    throw new UsageError(`--platform must be apple or google, got "${platform}"`);
  }
  const type = flags.type;
  if (type !== undefined && !['subscription', 'product', 'consumable'].includes(type)) {
    throw new UsageError(`--type must be subscription, product or consumable, got "${type}"`);
  }
  const periodMs = integerFlag('period-ms', flags['period-ms']);
  const result = (await cli.call('POST', '/purchases', {
    platform,
    productId: cli.args[0],
    ...(flags.user ? { appUserId: flags.user } : {}),
    ...(type ? { type } : {}),
    ...(periodMs !== undefined ? { periodMs } : {}),
    ...cli.delivery,
  })) as ControlResult;
  return (await printResult(cli, result, true)) ? 0 : 1;
}

/** A lifecycle step on one purchase: renew, cancel, refund, upgrade … */
async function act(cli: Invocation): Promise<number> {
  const { command, flags } = cli;
  const body: Record<string, unknown> = { ...cli.delivery };
  if (command === 'upgrade') {
    expectArgs(cli, 2, '<id> <newProductId>');
    body.newProductId = cli.args[1];
  } else {
    expectArgs(cli, 1, '<id>');
  }
  if (command === 'fail-billing' && flags.grace) body.grace = true;
  if (command === 'refund' && flags.transaction) body.transactionId = flags.transaction;
  if (command === 'family-share' && flags.user) body.appUserId = flags.user;
  const result = (await cli.call(
    'POST',
    `/purchases/${encodeURIComponent(cli.args[0] ?? '')}/${command}`,
    body,
  )) as ControlResult;
  return (await printResult(cli, result, command === 'upgrade' || command === 'family-share')) ? 0 : 1;
}

async function list(cli: Invocation): Promise<number> {
  expectArgs(cli, 0, 'no arguments');
  const { purchases } = (await cli.call('GET', '/purchases')) as { purchases: PurchaseView[] };
  if (cli.flags.json) cli.io.out(JSON.stringify(purchases, null, 2));
  else if (purchases.length === 0)
    cli.io.out('No purchases yet. Try: npm run sandbox -- buy premium_monthly');
  else for (const p of purchases) printPurchase(cli.io, p);
  return 0;
}

async function show(cli: Invocation): Promise<number> {
  expectArgs(cli, 1, '<id>');
  const { purchase } = (await cli.call('GET', `/purchases/${encodeURIComponent(cli.args[0] ?? '')}`)) as {
    purchase: PurchaseView;
  };
  cli.io.out(cli.print ? fieldText(purchase[cli.print]) : JSON.stringify(purchase, null, 2));
  return 0;
}

async function webhooks(cli: Invocation): Promise<number> {
  if (cli.args.length > 1) throw new UsageError('webhooks takes at most one <id>');
  const query = cli.args[0] ? `?purchase=${encodeURIComponent(cli.args[0])}` : '';
  const { webhooks } = (await cli.call('GET', `/webhooks${query}`)) as {
    webhooks: (Webhook & { timestamp: string })[];
  };
  if (cli.flags.json) cli.io.out(JSON.stringify(webhooks, null, 2));
  else
    for (const w of webhooks)
      cli.io.out(
        `${w.timestamp}  ${w.eventId}  ${w.event} [${w.platformEvent}]  ${w.subject ? shortToken(w.subject.key) : '(no subject)'}`,
      );
  return 0;
}

async function redeliver(cli: Invocation): Promise<number> {
  expectArgs(cli, 1, '<eventId>');
  const body = cli.flags['webhook-url'] ? { webhookUrl: cli.flags['webhook-url'] } : {};
  const { deliveries } = (await cli.call(
    'POST',
    `/webhooks/${encodeURIComponent(cli.args[0] ?? '')}/deliver`,
    body,
  )) as {
    deliveries: Delivery[];
  };
  for (const d of deliveries) {
    cli.io.out(
      `${d.eventId}: ${d.delivered ? `delivered (HTTP ${d.status})` : `NOT delivered (${d.error ?? `HTTP ${d.status}`})`}`,
    );
  }
  return deliveries.every((d) => d.delivered) ? 0 : 1;
}

async function knobs(cli: Invocation): Promise<number> {
  expectArgs(cli, 0, 'only flags');
  const update = knobsUpdate(cli.flags);
  const knobs =
    Object.keys(update).length > 0
      ? await cli.call('POST', '/knobs', update)
      : await cli.call('GET', '/knobs');
  cli.io.out(JSON.stringify(knobs, null, 2));
  return 0;
}

/** The traffic knobs the flags set; empty when they set none (then the command only shows them). */
function knobsUpdate(flags: Flags): Record<string, unknown> {
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
  return update;
}

async function stats(cli: Invocation): Promise<number> {
  expectArgs(cli, 0, 'only flags');
  const counts = cli.flags.reset
    ? await cli.call('POST', '/stats/reset', {})
    : await cli.call('GET', '/stats');
  cli.io.out(JSON.stringify(counts, null, 2));
  return 0;
}

/** Prints a step's outcome; false when a webhook the step produced was not delivered. */
async function printResult(
  cli: Invocation,
  result: ControlResult,
  withVerifyHelp: boolean,
): Promise<boolean> {
  const { io, print } = cli;
  if (print) {
    // A webhook the backend refused must not pass silently in a script.
    const failed = result.deliveries.filter((d) => !d.delivered);
    for (const d of failed)
      io.err(`webhook ${d.eventId} NOT delivered (${d.status === null ? d.error : `HTTP ${d.status}`})`);
    io.out(fieldText((result.created ?? result.purchase)[print]));
    return failed.length === 0;
  }
  if (cli.flags.json) {
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
    io.out(`  webhook ${webhook.event} [${webhook.platformEvent}] ${webhook.eventId}: ${deliveryOutcome(d)}`);
  }
  if (withVerifyHelp) {
    const target = result.created ?? result.purchase;
    const info = (await cli.call('GET', '/info')) as { apiKey: string };
    printVerifyHelp(io, target, cli.base, info.apiKey, cli.flags.api ?? 'http://127.0.0.1:3000');
  }
  return true;
}

function deliveryOutcome(d: Delivery | undefined): string {
  if (!d) return 'recorded, not sent (--no-webhook, or the sandbox has no webhook URL)';
  return d.delivered
    ? `delivered (HTTP ${d.status})`
    : `NOT delivered (${d.status === null ? d.error : `HTTP ${d.status}`})`;
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
