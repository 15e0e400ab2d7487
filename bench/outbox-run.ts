// `npm run bench:outbox`: figure 6 of bench/README.md on its own (the outbox's write units and
// the consumer's throughput next to raw TransactWriteItems), printed and written to
// bench/outbox-results.json.
import './bench-env';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const { countSdkCalls } = await import('./sdk-calls');
countSdkCalls();
const { startLocalStack } = await import('./local-stack');
const { measureOutbox, outboxRows } = await import('./outbox');

const stack = await startLocalStack();
try {
  const figure = await measureOutbox(stack, {
    ...(process.env.BENCH_OUTBOX_USERS ? { users: Number(process.env.BENCH_OUTBOX_USERS) } : {}),
  });
  for (const [what, value, baseline, target, status] of outboxRows(figure)) {
    process.stdout.write(`${what}: ${value} | ${baseline} | ${target} | ${status}\n`);
  }
  const out = join(dirname(fileURLToPath(import.meta.url)), 'outbox-results.json');
  writeFileSync(out, `${JSON.stringify(figure, null, 2)}\n`);
} finally {
  await stack.stop();
}
