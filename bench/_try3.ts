process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
const { countSdkCalls } = await import('./sdk-calls');
countSdkCalls();
const { startLocalStack } = await import('./local-stack');
const { measureRestore } = await import('./restore');
const { measureThroughput } = await import('./throughput');
const stack = await startLocalStack();
try {
  let t = Date.now();
  console.log(await measureRestore(), Date.now() - t);
  t = Date.now();
  console.log(await measureThroughput(stack, { events: Number(process.argv[2] ?? 1000) }), Date.now() - t);
} finally {
  await stack.stop();
}
