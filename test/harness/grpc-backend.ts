// A gRPC backend for routing tests: answers every call of /legate.test.Backend/Who with its own name,
// so a client can count which backend served it. Run as a program (`node grpc-backend.ts <name>
// <address> [port]`) it prints `listening <port>`: the form in which it runs inside a test host's network
// namespace (test/harness/netns.ts), where EndpointSlices can point at it (the API server refuses
// loopback addresses in EndpointSlices).
import * as grpc from '@grpc/grpc-js';

export const whoPath = '/legate.test.Backend/Who';
export const rawCodec = {
  serialize: (value: Buffer) => value,
  deserialize: (bytes: Buffer) => bytes,
};
export const backendService: grpc.ServiceDefinition = {
  Who: {
    path: whoPath,
    requestStream: false,
    responseStream: false,
    requestSerialize: rawCodec.serialize,
    requestDeserialize: rawCodec.deserialize,
    responseSerialize: rawCodec.serialize,
    responseDeserialize: rawCodec.deserialize,
  },
};

export interface Backend {
  readonly name: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A gRPC server on `address` (127.0.0.1 by default) and `port` (any free one by default) that answers with its name. */
export async function startBackend(name: string, address = '127.0.0.1', port = 0): Promise<Backend> {
  const server = new grpc.Server();
  server.addService(backendService, {
    Who: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, Buffer.from(name)),
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { name, port: bound, stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

if (import.meta.main) {
  const [name, address, port] = process.argv.slice(2);
  if (!name || !address) throw new Error('usage: grpc-backend.ts <name> <address> [port]');
  const backend = await startBackend(name, address, Number(port ?? 0));
  process.stdout.write(`listening ${backend.port}\n`);
  process.on('SIGTERM', () => void backend.stop().then(() => process.exit(0)));
}
