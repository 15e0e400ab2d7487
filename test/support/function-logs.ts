// What the functions log, read as CloudWatch gets it: the JSON lines Powertools writes to stdout
// and stderr. A spy on this process's logger module cannot see a function served from its
// bundle, which holds its own copy of the logger; the lines it writes are the same either way.
import { logger } from '../../shared/observability/logger';

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

export interface FunctionLogs {
  /** The log lines written since the capture started or was last cleared. */
  lines(): LogLine[];
  clear(): void;
  stop(): void;
}

function asLogLine(text: string): LogLine | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<LogLine>;
    return typeof parsed.level === 'string' && typeof parsed.message === 'string'
      ? (parsed as LogLine)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Captures (and keeps off the test output) the functions' log lines at `level` and above.
 * Powertools reads the level when a function's logger is created, at its cold start: start the
 * capture before the file's first request.
 */
export function captureFunctionLogs(level: 'DEBUG' | 'INFO' | 'WARN'): FunctionLogs {
  const before = { env: process.env.POWERTOOLS_LOG_LEVEL, level: logger.getLevelName() };
  process.env.POWERTOOLS_LOG_LEVEL = level;
  // With E2E_FUNCTIONS=sources the functions share this process's logger, created already.
  logger.setLogLevel(level);
  const captured: LogLine[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    const write = writes[i] as typeof stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      const parsed = lines.map(asLogLine);
      if (lines.length === 0 || parsed.some((line) => line === undefined))
        return write.call(stream, chunk as string, ...(rest as []));
      captured.push(...(parsed as LogLine[]));
      (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
      return true;
    }) as typeof stream.write;
  });
  return {
    lines: () => [...captured],
    clear: () => void captured.splice(0),
    stop() {
      streams.forEach((stream, i) => {
        stream.write = writes[i] as typeof stream.write;
      });
      if (before.env === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
      else process.env.POWERTOOLS_LOG_LEVEL = before.env;
      logger.setLogLevel(before.level);
    },
  };
}
