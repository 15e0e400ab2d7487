// Figure 5: dollars per million verifies and per million webhook events at AWS list prices, from
// the durations and DynamoDB capacity units measured in figure 2 and each function's configured
// memory. The durations come from this machine against DynamoDB Local, which answers slower than
// DynamoDB does, so the Lambda duration share is an upper bound.
import { DEFAULT_MEMORY_MB } from '../infra/constructs/function-factory';
import { type FunctionName, functions } from '../infra/functions';

// List prices, us-east-1, as published on the AWS pricing pages (checked for this bench):
export const PRICES = {
  /** Lambda, Arm (Graviton), per GB-second of duration (first pricing tier). */
  lambdaArmGbSecond: 0.0000133334,
  /** Lambda, per request. */
  lambdaRequest: 0.2 / 1e6,
  /** API Gateway HTTP API, per request (first 300 million a month). */
  httpApiRequest: 1.0 / 1e6,
  /** DynamoDB on-demand, per write request unit (a transactional write of ≤ 1 KB takes 2). */
  dynamoWriteUnit: 0.625 / 1e6,
  /** DynamoDB on-demand, per read request unit. */
  dynamoReadUnit: 0.125 / 1e6,
  /** SQS standard queue, per request (each 64 KB chunk of a payload counts as one). */
  sqsRequest: 0.4 / 1e6,
  /** Secrets Manager: per secret per month, and per 10 000 API calls. Fixed, not per request. */
  secretMonth: 0.4,
  secretCalls10k: 0.05,
  /** X-Ray, per trace recorded; active tracing samples the first request each second, then 5%. */
  xrayTrace: 5.0 / 1e6,
} as const;

/** Share of requests X-Ray's default sampling rule records at sustained volume. */
const XRAY_SAMPLED_SHARE = 0.05;
const SQS_BATCH = 10;

export interface CostLine {
  item: string;
  dollars: number;
}

export interface CostFigure {
  perMillionVerifies: { total: number; lines: CostLine[] };
  perMillionWebhookEvents: { total: number; lines: CostLine[] };
  fixedMonthly: CostLine[];
  assumptions: string[];
}

function memoryGb(fn: FunctionName): number {
  return (functions[fn].memoryMb ?? DEFAULT_MEMORY_MB) / 1024;
}

/** Lambda bills duration rounded up to the millisecond. */
function lambdaDollars(fn: FunctionName, durationMs: number, invocations: number): number {
  return (Math.ceil(durationMs) / 1000) * memoryGb(fn) * PRICES.lambdaArmGbSecond * invocations;
}

export function costModel(input: {
  verify: { durationMs: number; readUnits: number; writeUnits: number; historyWriteUnits: number };
  webhook: { durationMs: number };
  consumerBatch: { durationMs: number; readUnits: number; writeUnits: number; historyWriteUnits: number };
}): CostFigure {
  const million = 1e6;
  const verifyLines: CostLine[] = [
    { item: 'API Gateway HTTP API requests', dollars: PRICES.httpApiRequest * million },
    { item: 'Lambda requests', dollars: PRICES.lambdaRequest * million },
    {
      item: `Lambda duration (${input.verify.durationMs.toFixed(0)} ms × ${memoryGb('verify-apple') * 1024} MB)`,
      dollars: lambdaDollars('verify-apple', input.verify.durationMs, million),
    },
    {
      item: `DynamoDB writes (${input.verify.writeUnits} WRU, of which history ${input.verify.historyWriteUnits})`,
      dollars: input.verify.writeUnits * PRICES.dynamoWriteUnit * million,
    },
    {
      item: `DynamoDB reads (${input.verify.readUnits} RRU)`,
      dollars: input.verify.readUnits * PRICES.dynamoReadUnit * million,
    },
    { item: 'X-Ray traces (5% sampled)', dollars: XRAY_SAMPLED_SHARE * PRICES.xrayTrace * million },
  ];
  const batches = million / SQS_BATCH;
  const webhookLines: CostLine[] = [
    { item: 'API Gateway HTTP API requests', dollars: PRICES.httpApiRequest * million },
    {
      item: 'Lambda requests (webhook + consumer per batch of 10)',
      dollars: PRICES.lambdaRequest * (million + batches),
    },
    {
      item: `Lambda duration (webhook ${input.webhook.durationMs.toFixed(0)} ms; consumer ${input.consumerBatch.durationMs.toFixed(0)} ms per 10)`,
      dollars:
        lambdaDollars('attesto-webhook', input.webhook.durationMs, million) +
        lambdaDollars('webhook-consumer', input.consumerBatch.durationMs, batches),
    },
    // One send per event; the event source's receive and batch delete per 10 messages.
    {
      item: 'SQS requests (send + receive/10 + delete/10)',
      dollars: PRICES.sqsRequest * (million + 2 * batches),
    },
    {
      item: `DynamoDB writes (${(input.consumerBatch.writeUnits / SQS_BATCH).toFixed(1)} WRU per event, of which history ${(input.consumerBatch.historyWriteUnits / SQS_BATCH).toFixed(1)})`,
      dollars: (input.consumerBatch.writeUnits / SQS_BATCH) * PRICES.dynamoWriteUnit * million,
    },
    {
      item: `DynamoDB reads (${(input.consumerBatch.readUnits / SQS_BATCH).toFixed(1)} RRU per event)`,
      dollars: (input.consumerBatch.readUnits / SQS_BATCH) * PRICES.dynamoReadUnit * million,
    },
    {
      item: 'X-Ray traces (5% sampled, both functions)',
      dollars: XRAY_SAMPLED_SHARE * PRICES.xrayTrace * (million + batches),
    },
  ];
  const sum = (lines: CostLine[]) => lines.reduce((s, l) => s + l.dollars, 0);
  return {
    perMillionVerifies: { total: sum(verifyLines), lines: verifyLines },
    perMillionWebhookEvents: { total: sum(webhookLines), lines: webhookLines },
    fixedMonthly: [
      { item: 'Secrets Manager secrets (API key, webhook secrets)', dollars: 2 * PRICES.secretMonth },
      // Each warm function re-reads the secret at most every 5 minutes: ≤ 8 640 calls a month each.
      {
        item: 'Secrets Manager reads (per warm function, ≤ 1 per 5 min)',
        dollars: (8640 / 10_000) * PRICES.secretCalls10k,
      },
    ],
    assumptions: [
      'us-east-1 list prices, no free tier; Lambda on arm64 at the configured memory',
      'durations measured on this machine against DynamoDB Local and the sandbox (upper bound for AWS)',
      'Attesto is billed by Attesto and is not included; CloudWatch Logs ingestion is not included',
    ],
  };
}
