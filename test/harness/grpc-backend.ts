// A gRPC backend for routing tests: answers every call of /legate.test.Backend/Who (and of the
// methods in `extraMethodPaths`) with its own name, so a client can count which backend served it.
// Every request metadata entry named `x-…` comes back as response metadata `echo-x-…`, so a client
// can see what a proxy changed on the way. `callsPath` answers (as JSON) the last 1,000 calls received
// with their path and metadata: how a test sees mirrored calls. Metadata `x-delay-ms: 200` makes it
// wait that long (at most 20 s) before answering. Run as a program (`node grpc-backend.ts <name>
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

/** Lists the calls this backend received: `[{ path, metadata }]` as JSON. */
export const callsPath = '/legate.test.Backend/Calls';

/** More methods every backend serves, for method-matching tests. */
export const extraMethodPaths = [
  '/legate.test.Backend/Hello',
  '/legate.test.Backend/Reset',
  '/legate.test.Admin/Who',
  '/legate.test.Admin/Reset',
] as const;

function unaryMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: rawCodec.serialize,
    requestDeserialize: rawCodec.deserialize,
    responseSerialize: rawCodec.serialize,
    responseDeserialize: rawCodec.deserialize,
  };
}

export interface Backend {
  readonly name: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A gRPC server on `address` (127.0.0.1 by default) and `port` (any free one by default) that answers with its name. */
export async function startBackend(name: string, address = '127.0.0.1', port = 0): Promise<Backend> {
  const server = new grpc.Server();
  const calls: { path: string; metadata: Record<string, string> }[] = [];
  const answer = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    const echoed = new grpc.Metadata();
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(call.metadata.getMap())) {
      metadata[key] = String(value);
      if (key.startsWith('x-')) echoed.set(`echo-${key}`, String(value));
    }
    calls.push({ path: call.getPath(), metadata });
    if (calls.length > 1000) calls.shift();
    const delay = Math.min(Number(metadata['x-delay-ms'] ?? 0) || 0, 20_000);
    setTimeout(() => {
      call.sendMetadata(echoed);
      callback(null, Buffer.from(name));
    }, delay);
  };
  server.addService(backendService, { Who: answer });
  server.addService(Object.fromEntries([...extraMethodPaths, callsPath].map((path) => [path, unaryMethod(path)])), {
    ...Object.fromEntries(extraMethodPaths.map((path) => [path, answer])),
    [callsPath]: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, Buffer.from(JSON.stringify(calls))),
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
