// The proxies of the xDS benchmarks: one Delta ADS stream per Gateway over mTLS (as Envoy's bootstrap
// uses DELTA_GRPC), in a child process so the server's RSS is its own. Every response is ACKed and
// reported to the parent with its arrival time (epoch ms, comparable across processes).

import { type ChildProcess, fork } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { TypeUrls } from '../operator/src/envoy/protos.ts';
import { adsServiceDefinition, type DeltaDiscoveryResponseMessage } from '../operator/src/xds/ads-service.ts';
import { type GatewayKey, type IssuedCertificate, xdsClientCredentials } from '../operator/src/xds/identity.ts';

export interface ClientPlan {
  gateway: GatewayKey;
  cert: IssuedCertificate;
  /** RDS / EDS names to subscribe to; wildcard (`*`) when absent. */
  routeNames?: string[];
  endpointNames?: string[];
}

export type FromClients =
  | { kind: 'ready' }
  | { kind: 'response'; gateway: GatewayKey; typeUrl: string; at: number; removed: number; resources: number };

export const epochNow = (): number => performance.timeOrigin + performance.now();

function runClients(port: number, plans: ClientPlan[]): void {
  const Ads = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'ADS');
  const send = (message: FromClients) => process.send?.(message);
  let pending = plans.length;
  for (const plan of plans) {
    const client = new Ads(`127.0.0.1:${port}`, xdsClientCredentials(plan.cert), {
      'grpc.ssl_target_name_override': 'localhost',
    });
    const call = (
      client as unknown as { DeltaAggregatedResources(): grpc.ClientDuplexStream<object, object> }
    ).DeltaAggregatedResources();
    const waitingFor = new Set<string>([TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.listener, TypeUrls.route]);
    call.on('data', (response: DeltaDiscoveryResponseMessage) => {
      const typeUrl = response.typeUrl ?? '';
      send({
        kind: 'response',
        gateway: plan.gateway,
        typeUrl,
        at: epochNow(),
        resources: response.resources?.length ?? 0,
        removed: response.removedResources?.length ?? 0,
      });
      call.write({ typeUrl, responseNonce: response.nonce });
      if (waitingFor.delete(typeUrl) && waitingFor.size === 0 && --pending === 0) send({ kind: 'ready' });
    });
    call.on('error', (error) => process.stderr.write(`${plan.gateway}: ${error.message}\n`));
    const node = { id: `bench-${plan.gateway}`, cluster: plan.gateway, userAgentName: 'envoy' };
    call.write({ node, typeUrl: TypeUrls.cluster });
    call.write({ typeUrl: TypeUrls.endpoint, resourceNamesSubscribe: plan.endpointNames ?? ['*'] });
    call.write({ typeUrl: TypeUrls.listener });
    call.write({ typeUrl: TypeUrls.route, resourceNamesSubscribe: plan.routeNames ?? ['*'] });
  }
}

export interface Clients {
  /** Resolves with the first message matching; rejects after `timeoutMs`. */
  waitFor<T extends FromClients>(match: (m: FromClients) => m is T, timeoutMs?: number): Promise<T>;
  onMessage(listener: (message: FromClients) => void): void;
  stop(): void;
}

/** Starts the client process and opens one stream per plan. */
export function startClients(port: number, plans: ClientPlan[]): Clients {
  const child: ChildProcess = fork(import.meta.filename, ['--bench-clients'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const listeners = new Set<(message: FromClients) => void>();
  child.on('message', (message: FromClients) => {
    for (const listener of listeners) listener(message);
  });
  child.send({ port, plans });
  return {
    waitFor: (match, timeoutMs = 180_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error('timed out waiting for the xDS clients'));
        }, timeoutMs);
        const listener = (message: FromClients) => {
          if (!match(message)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(message);
        };
        listeners.add(listener);
      }),
    onMessage: (listener) => listeners.add(listener),
    stop: () => child.kill(),
  };
}

if (process.argv.includes('--bench-clients')) {
  process.once('message', (message: { port: number; plans: ClientPlan[] }) => runClients(message.port, message.plans));
}
