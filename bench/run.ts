// `npm run bench`: every figure of bench/README.md, each next to its baseline measured in the same
// run, printed as one table and written to bench/results.json.
import './bench-env';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const { countSdkCalls } = await import('./sdk-calls');
countSdkCalls();
const { measureBundles } = await import('./bundles');
const { startLocalStack } = await import('./local-stack');
const { measureRequests, measureConsumerBatch } = await import('./requests');
const { measureRestore } = await import('./restore');
const { measureThroughput } = await import('./throughput');
const { costModel } = await import('./cost');
const { measureOutbox, outboxRows } = await import('./outbox');
const { measureReconcile } = await import('./reconcile');

const BUNDLE_RATIO = 1.5;
const INIT_RATIO = 1.5;
const RESTORE_MAX_MS = 1_000;
const RESTORE_MIN_SPEEDUP = 8;
const RESTORE_MAX_CALLS = 10;
// What the reconcile function leaves a pass: its 300 s timeout less the reserve.
const RECONCILE_BUDGET_MS = 285_000;

const started = performance.now();
const progress = (what: string) =>
  process.stderr.write(
    `[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${what}\n`,
  );

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (n: number) => `${n.toFixed(0)} ms`;
const ok = (met: boolean) => (met ? 'met' : 'MISSED');

type Row = [string, string, string, string, string];
const rows: { section: string; rows: Row[] }[] = [];

progress('1/7 bundling every function and its SDK-only baseline with CDK, then timing cold imports');
const samples = Number(process.env.BENCH_INIT_SAMPLES ?? 11);
const bundles = await measureBundles(samples);
rows.push({
  section: `1. Bundle size and cold module init (median of ${samples} fresh processes) vs SDK-only baseline`,
  rows: bundles.flatMap((b): Row[] => {
    const sizeRatio = b.bundleBytes / Math.max(b.baselineBytes, 1);
    const initRatio = b.initMs / Math.max(b.baselineInitMs, 1);
    if (b.clients.length === 0) {
      // Nothing unavoidable to compare with: the baseline is an empty bundle and a bare Node start.
      return [
        [
          `${b.fn} bundle`,
          kb(b.bundleBytes),
          `${kb(b.baselineBytes)} (no SDK client)`,
          'no SDK baseline: absolute',
          'n/a',
        ],
        [
          `${b.fn} init`,
          ms(b.initMs),
          `${ms(b.baselineInitMs)} (empty module)`,
          'no SDK baseline: absolute',
          'n/a',
        ],
      ];
    }
    const base = b.clients.join(' + ');
    return [
      [
        `${b.fn} bundle`,
        kb(b.bundleBytes),
        `${kb(b.baselineBytes)} (${base})`,
        `≤ ${BUNDLE_RATIO}×: ${sizeRatio.toFixed(2)}×`,
        ok(sizeRatio <= BUNDLE_RATIO),
      ],
      [
        `${b.fn} init`,
        ms(b.initMs),
        ms(b.baselineInitMs),
        `≤ ${INIT_RATIO}×: ${initRatio.toFixed(2)}×`,
        ok(initRatio <= INIT_RATIO),
      ],
    ];
  }),
});

progress('starting DynamoDB Local, fauxqs and the Attesto sandbox');
const stack = await startLocalStack();
let results: Record<string, unknown>;
try {
  progress('2/7 round trips per request');
  const requests = await measureRequests(stack);
  const consumerBatch = await measureConsumerBatch(stack);
  rows.push({
    section: '2. Round trips per request (SDK middleware; Attesto calls at the sandbox)',
    rows: requests.map(
      (r): Row => [
        r.name,
        `DynamoDB ${r.dynamoCalls} (${r.dynamoSequential} sequential), SQS ${r.sqsCalls}, Attesto ${r.attestoCalls}`,
        r.minimum,
        r.dynamoCommands.map((c) => c.replace(/Command$/, '')).join(', ') || '—',
        ok(r.met),
      ],
    ),
  });

  progress(
    '3/7 restore of a 50-transaction iOS history vs a sequential verify loop (150 ms Attesto latency)',
  );
  const restore = await measureRestore();
  rows.push({
    section: `3. Restore of ${restore.entries} iOS transactions, Attesto latency ${restore.latencyMs} ms`,
    rows: [
      [
        'restore wall time',
        ms(restore.restoreMs),
        `sequential loop ${ms(restore.sequentialMs)}`,
        `≤ ${RESTORE_MAX_MS} ms`,
        ok(restore.restoreMs <= RESTORE_MAX_MS),
      ],
      [
        'restore speed-up',
        `${restore.speedup.toFixed(1)}×`,
        '1× (sequential loop)',
        `≥ ${RESTORE_MIN_SPEEDUP}×`,
        ok(restore.speedup >= RESTORE_MIN_SPEEDUP),
      ],
      [
        'restore Attesto calls',
        String(restore.restoreAttestoCalls),
        `${restore.sequentialAttestoCalls} (sequential loop)`,
        `≤ ${RESTORE_MAX_CALLS}`,
        ok(restore.restoreAttestoCalls <= RESTORE_MAX_CALLS),
      ],
      [
        'restore of the same batch again (SDK retry)',
        `${ms(restore.againMs)}, ${restore.againAttestoCalls} Attesto calls`,
        `first restore ${ms(restore.restoreMs)}`,
        '0 Attesto calls',
        ok(restore.againAttestoCalls === 0),
      ],
    ],
  });

  const events = Number(process.env.BENCH_EVENTS ?? 10_000);
  progress(`4/7 consumer throughput: ${events} events, 10% duplicated, shuffled`);
  const throughput = await measureThroughput(stack, { events });
  rows.push({
    section: `4. Consumer throughput against DynamoDB Local (batches of ${throughput.batchSize}, ${throughput.concurrency} in flight)`,
    rows: [
      [
        'events per second',
        throughput.eventsPerSecond.toFixed(0),
        `${throughput.events} events (${throughput.duplicates} duplicates) in ${throughput.seconds.toFixed(1)} s`,
        'reported',
        'info',
      ],
      [
        'final state = in-order application',
        `${throughput.purchases - throughput.mismatches}/${throughput.purchases} purchases`,
        `${throughput.failedRecords} records redelivered`,
        'all equal',
        ok(throughput.mismatches === 0),
      ],
    ],
  });

  progress('5/7 the outbox: write units per change, consumer throughput vs raw TransactWriteItems');
  const outbox = await measureOutbox(stack);
  rows.push({
    section: '6. Transactional outbox (entitlement events) against DynamoDB Local',
    rows: outboxRows(outbox),
  });

  progress('6/7 cost model');
  const verify = requests.find((r) => r.fn === 'verify-apple');
  const webhook = requests.find((r) => r.fn === 'attesto-webhook');
  if (!verify || !webhook) throw new Error('missing request figures');
  const cost = costModel({ verify, webhook, consumerBatch });
  rows.push({
    section:
      '5. Cost at us-east-1 list prices (bench/cost.ts), from measured durations and configured memory',
    rows: [
      [
        '$ per million verifies',
        `$${cost.perMillionVerifies.total.toFixed(2)}`,
        'sum of the lines below',
        'reported',
        'info',
      ],
      ...cost.perMillionVerifies.lines.map(
        (l): Row => [`  ${l.item}`, `$${l.dollars.toFixed(2)}`, '', '', ''],
      ),
      [
        '$ per million webhook events',
        `$${cost.perMillionWebhookEvents.total.toFixed(2)}`,
        'sum of the lines below',
        'reported',
        'info',
      ],
      ...cost.perMillionWebhookEvents.lines.map(
        (l): Row => [`  ${l.item}`, `$${l.dollars.toFixed(2)}`, '', '', ''],
      ),
      [
        'fixed per month',
        `$${cost.fixedMonthly.reduce((sum, l) => sum + l.dollars, 0).toFixed(2)}`,
        cost.fixedMonthly.map((l) => l.item).join('; '),
        'reported',
        'info',
      ],
    ],
  });
  const reconcilePurchases = Number(process.env.BENCH_RECONCILE_PURCHASES ?? 10_000);
  progress(`7/7 reconciliation pass over ${reconcilePurchases} purchases, 1% due`);
  // Every check takes its own time budget, and the local runtime passes its own delay: none here.
  process.env.RECONCILE_DELAY_SECONDS = '0';
  const reconcile = await measureReconcile(stack, {
    purchases: reconcilePurchases,
    duePercent: 1,
    budgetMs: RECONCILE_BUDGET_MS,
  });
  rows.push({
    section: `7. Reconciliation pass over ${reconcile.purchases} purchases, ${reconcile.due} due (sparse due index)`,
    rows: [
      [
        'purchases checked / changed',
        `${reconcile.checked} / ${reconcile.changed}`,
        `${reconcile.due} due, ${reconcile.failed} failed, ${reconcile.stillDue} still due`,
        'every due one, nothing else',
        ok(reconcile.checked === reconcile.due && reconcile.changed === reconcile.due),
      ],
      [
        'read units of the pass',
        reconcile.passReadUnits.toFixed(1),
        `${reconcile.scanReadUnits.toFixed(1)} (one scan of the table)`,
        '< 5% of a scan',
        ok(reconcile.passReadUnits < 0.05 * reconcile.scanReadUnits),
      ],
      [
        'pass duration',
        ms(reconcile.passMs),
        `${reconcile.attestoCalls} Attesto calls, 4 at a time`,
        `< ${ms(reconcile.budgetMs)}`,
        ok(reconcile.passMs < reconcile.budgetMs),
      ],
    ],
  });
  results = { bundles, requests, consumerBatch, restore, throughput, outbox, cost, reconcile };
} finally {
  await stack.stop();
}

function printTable(sections: typeof rows): void {
  const header: Row = ['figure', 'measured', 'baseline / minimum', 'target', 'status'];
  const all = [header, ...sections.flatMap((s) => s.rows)];
  const width = (i: number, cap: number) =>
    Math.min(cap, Math.max(...all.map((r) => (r[i] as string).length)));
  const caps = [60, 56, 44, 40, 6];
  const widths = caps.map((cap, i) => width(i, cap));
  const cell = (text: string, w: number) => (text.length > w ? `${text.slice(0, w - 1)}…` : text.padEnd(w));
  const line = (r: Row) => `| ${r.map((c, i) => cell(c, widths[i] as number)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const out = [line(header), rule];
  for (const s of sections) {
    out.push(`| **${s.section}** ${' '.repeat(Math.max(0, rule.length - s.section.length - 9))}|`);
    for (const r of s.rows) out.push(line(r));
  }
  console.log(out.join('\n'));
}

printTable(rows);
const missed = rows.flatMap((s) => s.rows).filter((r) => r[4] === 'MISSED');
const totalSeconds = (performance.now() - started) / 1000;
console.log(
  `\n${missed.length === 0 ? 'Every target met.' : `${missed.length} target(s) missed: ${missed.map((r) => r[0]).join(', ')}.`} Bench ran in ${totalSeconds.toFixed(0)} s.`,
);
const file = join(dirname(fileURLToPath(import.meta.url)), 'results.json');
writeFileSync(
  file,
  `${JSON.stringify({ ranAt: new Date().toISOString(), node: process.version, seconds: totalSeconds, ...results, table: rows }, null, 2)}\n`,
);
console.log(`Figures written to ${file}`);
