// Real parts for the xDS suites: gRPC backend servers on loopback, hand-built Envoy resources (until
// the translator renders them), a proxyless @grpc/grpc-js-xds client, and a raw ADS client that
// speaks SotW and Delta exactly as written on the wire.

import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import type { KubernetesObject, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { TypeUrls } from '../../operator/src/envoy/protos.ts';
import { type JsonValue, strictEncode } from '../../operator/src/envoy/strict.ts';
import {
  adsServiceDefinition,
  type DeltaDiscoveryRequestMessage,
  type DeltaDiscoveryResponseMessage,
  type DiscoveryRequestMessage,
  type DiscoveryResponseMessage,
} from '../../operator/src/xds/ads-service.ts';
import type { EncodedResource } from '../../operator/src/xds/resources.ts';
import { backendService, rawCodec, whoPath } from '../harness/grpc-backend.ts';

grpcXds.register();

// --- gRPC backends: test/harness/grpc-backend.ts (also run inside test hosts) ----------------------

export { type Backend, startBackend } from '../harness/grpc-backend.ts';

/** A Service with one gRPC (h2c) port, as the suites apply it or hand it to the translator. */
export function grpcService(namespace: string, name: string, port: number): V1Service & KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name },
    spec: { ports: [{ name: 'grpc', port, appProtocol: 'kubernetes.io/h2c' }] },
  };
}

/** One EndpointSlice per backend (slices of one Service may carry different target ports). */
export function backendSlice(
  namespace: string,
  serviceName: string,
  backend: { name: string; port: number },
  address: string,
): V1EndpointSlice & KubernetesObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      namespace,
      name: `${serviceName}-${backend.name}`,
      labels: { 'kubernetes.io/service-name': serviceName },
    },
    addressType: 'IPv4',
    ports: [{ name: 'grpc', port: backend.port }],
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
  };
}

// --- Envoy resources, built by hand ---------------------------------------------------------------

const ads = { ads: {}, resource_api_version: 'V3' };

function encoded(typeUrl: string, name: string, json: JsonValue): EncodedResource {
  return { name, bytes: strictEncode(typeUrl, json) };
}

/** An api_listener Listener (HttpConnectionManager with RDS and the router filter) for proxyless gRPC. */
export function apiListener(name: string, routeConfigName: string): EncodedResource {
  return encoded(TypeUrls.listener, name, {
    name,
    api_listener: {
      api_listener: {
        '@type':
          'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        stat_prefix: name,
        rds: { config_source: ads, route_config_name: routeConfigName },
        http_filters: [
          {
            name: 'envoy.filters.http.router',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
          },
        ],
      },
    },
  });
}

export interface RouteRule {
  /** Exact header matches. */
  headers?: Record<string, string>;
  /** cluster name → weight. */
  backends: Record<string, number>;
}

export function routeConfiguration(name: string, rules: RouteRule[]): EncodedResource {
  return encoded(TypeUrls.route, name, {
    name,
    virtual_hosts: [
      {
        name: 'all',
        domains: ['*'],
        routes: rules.map((rule) => ({
          match: {
            prefix: '/',
            headers: Object.entries(rule.headers ?? {}).map(([header, value]) => ({
              name: header,
              string_match: { exact: value },
            })),
          },
          route: {
            weighted_clusters: {
              clusters: Object.entries(rule.backends).map(([cluster, weight]) => ({ name: cluster, weight })),
            },
          },
        })),
      },
    ],
  });
}

export function edsCluster(name: string): EncodedResource {
  return encoded(TypeUrls.cluster, name, {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ads, service_name: name },
    lb_policy: 'ROUND_ROBIN',
    connect_timeout: '1s',
  });
}

export function loadAssignment(clusterName: string, ports: number[]): EncodedResource {
  return encoded(TypeUrls.endpoint, clusterName, {
    cluster_name: clusterName,
    endpoints:
      ports.length === 0
        ? []
        : [
            {
              locality: { region: 'local', zone: 'a' },
              // gRPC ignores a locality without a weight.
              load_balancing_weight: 1,
              lb_endpoints: ports.map((port) => ({
                endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
              })),
            },
          ],
  });
}

export interface GatewayConfig {
  listener: string;
  route: string;
  rules: RouteRule[];
  /** cluster name → backend ports. */
  clusters: Record<string, number[]>;
}

/** A complete, consistent set of resources for one proxyless Gateway listener. */
export function gatewayResources(config: GatewayConfig): Record<string, EncodedResource[]> {
  return {
    [TypeUrls.listener]: [apiListener(config.listener, config.route)],
    [TypeUrls.route]: [routeConfiguration(config.route, config.rules)],
    [TypeUrls.cluster]: Object.keys(config.clusters).map(edsCluster),
    [TypeUrls.endpoint]: Object.entries(config.clusters).map(([name, ports]) => loadAssignment(name, ports)),
  };
}

// --- proxyless client ------------------------------------------------------------------------------

export interface ProxylessClient {
  /** One call; resolves to the name of the backend that answered. */
  who(headers?: Record<string, string>, deadlineMs?: number): Promise<string>;
  /** `count` calls; returns backend name → how many answered. */
  spread(count: number, headers?: Record<string, string>): Promise<Map<string, number>>;
  close(): void;
}

const BackendClient = grpc.makeGenericClientConstructor(backendService, 'Backend');

/**
 * A real @grpc/grpc-js-xds client dialing `xds:///<listenerName>` through the given xDS server.
 * `authority` is the :authority calls carry (and the virtual host gRPC picks); Legate's listener
 * names contain slashes, which HTTP/2 does not allow in an authority, so it must be set.
 */
export function proxylessClient(
  xdsPort: number,
  nodeCluster: string,
  listenerName: string,
  authority = 'backend.test',
): ProxylessClient {
  const bootstrap = {
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }] }],
    node: {
      id: `proxyless-${process.pid}-${Math.random().toString(36).slice(2)}`,
      cluster: nodeCluster,
      locality: {},
    },
  };
  const client = new BackendClient(`xds:///${listenerName}`, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
    'grpc.default_authority': authority,
  });
  const who = (headers: Record<string, string> = {}, deadlineMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      // grpc-js takes wait-for-ready from the metadata options, not from the call options.
      const metadata = new grpc.Metadata({ waitForReady: true });
      for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
      client.makeUnaryRequest(
        whoPath,
        rawCodec.serialize,
        rawCodec.deserialize,
        Buffer.alloc(0),
        metadata,
        { deadline: Date.now() + deadlineMs },
        (error: grpc.ServiceError | null, value?: Buffer) => (error ? reject(error) : resolve(String(value))),
      );
    });
  return {
    who,
    async spread(count, headers) {
      const counts = new Map<string, number>();
      // Modest concurrency: fast, without piling up thousands of pending calls.
      for (let i = 0; i < count; i += 50) {
        const batch = await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => who(headers)));
        for (const name of batch) counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      return counts;
    },
    close: () => client.close(),
  };
}

// --- raw ADS client --------------------------------------------------------------------------------

const AdsClient = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');

/** Responses of one stream, awaited one at a time; ends with the stream's status. */
class Inbox<T> {
  readonly #queue: T[] = [];
  readonly #waiters: ((value: T | Error) => void)[] = [];
  #ended: Error | undefined;

  push(value: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(value);
    else this.#queue.push(value);
  }

  end(error: Error): void {
    this.#ended = error;
    for (const waiter of this.#waiters.splice(0)) waiter(error);
  }

  /** The next response; rejects on timeout or when the stream ended. */
  next(timeoutMs = 5000): Promise<T> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no xDS response within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (value: T | Error) => {
        clearTimeout(timer);
        if (value instanceof Error) reject(value);
        else resolve(value);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Asserts that nothing arrives for `ms`; returns what arrived otherwise (for a useful failure). */
  async quiet(ms = 300): Promise<T | undefined> {
    return this.next(ms).then(
      (value) => value,
      () => undefined,
    );
  }
}

export interface RawStream<Req, Res> {
  send(request: Req): void;
  readonly responses: Inbox<Res>;
  /** Stop / start reading (a slow proxy: HTTP/2 flow control pushes back on the server). */
  pause(): void;
  resume(): void;
  /** The final status (PERMISSION_DENIED for a refused client). */
  readonly status: Promise<grpc.StatusObject>;
  close(): void;
}

export function rawAdsClient(port: number, credentials: grpc.ChannelCredentials, serverName = 'localhost') {
  const client = new AdsClient(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': serverName });
  function open<Req, Res>(method: string): RawStream<Req, Res> {
    const call = (client as unknown as Record<string, () => grpc.ClientDuplexStream<Req, Res>>)[method]!.call(client);
    const responses = new Inbox<Res>();
    call.on('data', (response: Res) => responses.push(response));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', (error: Error) => responses.end(error));
    return {
      send: (request) => call.write(request),
      pause: () => call.pause(),
      resume: () => call.resume(),
      responses,
      status,
      close: () => call.cancel(),
    };
  }
  return {
    sotw: () => open<DiscoveryRequestMessage, DiscoveryResponseMessage>('StreamAggregatedResources'),
    delta: () => open<DeltaDiscoveryRequestMessage, DeltaDiscoveryResponseMessage>('DeltaAggregatedResources'),
    close: () => client.close(),
  };
}
