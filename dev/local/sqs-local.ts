// The fauxqs SQS emulator, in-process. buildApp() + listen on 127.0.0.1, because startFauxqs()
// binds every interface. It keeps queues in memory only.
import type { AddressInfo } from 'node:net';
import { buildApp } from 'fauxqs';

export interface SqsLocal {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startSqsLocal(port = 0): Promise<SqsLocal> {
  const app = buildApp({ logger: false });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      await app.close();
    },
  };
}
