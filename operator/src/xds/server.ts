// The ADS server: one gRPC service, SotW and Delta, every Gateway's streams. The protocol rules live
// in sotw-stream.ts / delta-stream.ts; this file is the shell around them: authentication, wiring
// snapshot changes to the affected Gateway's streams only, encoding, callbacks and metrics.

import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import {
  adsServiceDefinition,
  anyOf,
  type DeltaDiscoveryRequestMessage,
  type DeltaDiscoveryResponseMessage,
  type DiscoveryRequestMessage,
  type DiscoveryResponseMessage,
} from './ads-service.ts';
import { type Authenticator, type AuthResult, mtlsAuthenticator } from './authenticate.ts';
import { type DeltaRequest, type DeltaResponse, DeltaStream } from './delta-stream.ts';
import type { GatewayKey } from './identity.ts';
import { createXdsMetrics, typeLabel, type XdsMetrics, type XdsProtocol } from './metrics.ts';
import { pushOrder as allTypes, type ResourcesByTypeUrl } from './resources.ts';
import { type GatewaySnapshot, SnapshotCache, type SnapshotChange } from './snapshot-cache.ts';
import { type RequestOutcome, type SotwRequest, type SotwResponse, SotwStream } from './sotw-stream.ts';

export interface XdsServerOptions {
  port: number;
  /** Address to listen on; 127.0.0.1 by default. The operator in a cluster passes '0.0.0.0'. */
  host?: string;
  /** `xdsServerCredentials(...)` from identity.ts for mTLS; plaintext only for a proxyless port. */
  credentials: grpc.ServerCredentials;
  /** Who may read which Gateway: mTLS client certificate by default. */
  authenticator?: Authenticator;
  /** Share one cache between an mTLS Envoy port and a proxyless port. */
  cache?: SnapshotCache;
  /** Where the metrics go (a new Registry by default, see `registry`). */
  registry?: Registry;
}

/** A proxy rejected a version: it keeps its last good config; `message` is its error text. */
export interface NackEvent {
  readonly gateway: GatewayKey;
  readonly typeUrl: string;
  readonly protocol: XdsProtocol;
  /** The version the proxy rejected. */
  readonly version: string;
  readonly code: number;
  readonly message: string;
  readonly nodeId: string;
}

/** A proxy accepted a version (lets the operator clear a NACK condition). */
export interface AckEvent {
  readonly gateway: GatewayKey;
  readonly typeUrl: string;
  readonly protocol: XdsProtocol;
  readonly version: string;
  readonly nodeId: string;
}

interface BaseResponse {
  readonly typeUrl: string;
  readonly changeSeenAt?: number;
}

/** What both protocol state machines offer. */
interface ProtocolStream<Req, Res extends BaseResponse> {
  handleRequest(request: Req): { outcome: RequestOutcome; responses: Res[] };
  handleChange(typeUrls: readonly string[]): Res[];
}

interface Protocol<
  Msg extends { node?: { id?: string; cluster?: string } | null; typeUrl?: string },
  Req,
  Res extends BaseResponse,
> {
  readonly name: XdsProtocol;
  toRequest(message: Msg): Req;
  toMessage(response: Res): object;
  create(snapshot: () => GatewaySnapshot | undefined, ready: () => boolean): ProtocolStream<Req, Res>;
}

const sotw: Protocol<DiscoveryRequestMessage, SotwRequest, SotwResponse> = {
  name: 'sotw',
  toRequest: (m) => ({
    typeUrl: m.typeUrl ?? '',
    versionInfo: m.versionInfo ?? '',
    resourceNames: m.resourceNames ?? [],
    responseNonce: m.responseNonce ?? '',
    errorDetail: m.errorDetail ? { code: m.errorDetail.code ?? 0, message: m.errorDetail.message ?? '' } : null,
  }),
  toMessage: (r): DiscoveryResponseMessage => ({
    versionInfo: r.versionInfo,
    typeUrl: r.typeUrl,
    nonce: r.nonce,
    resources: r.resources.map((resource) => anyOf(r.typeUrl, resource.bytes)),
  }),
  create: (snapshot, ready) => new SotwStream(snapshot, ready),
};

const delta: Protocol<DeltaDiscoveryRequestMessage, DeltaRequest, DeltaResponse> = {
  name: 'delta',
  toRequest: (m) => ({
    typeUrl: m.typeUrl ?? '',
    responseNonce: m.responseNonce ?? '',
    resourceNamesSubscribe: m.resourceNamesSubscribe ?? [],
    resourceNamesUnsubscribe: m.resourceNamesUnsubscribe ?? [],
    initialResourceVersions: m.initialResourceVersions ?? {},
    errorDetail: m.errorDetail ? { code: m.errorDetail.code ?? 0, message: m.errorDetail.message ?? '' } : null,
  }),
  toMessage: (r): DeltaDiscoveryResponseMessage => ({
    systemVersionInfo: r.systemVersionInfo,
    typeUrl: r.typeUrl,
    nonce: r.nonce,
    removedResources: [...r.removedResources],
    resources: r.resources.map((resource) => ({
      name: resource.name,
      version: resource.version,
      resource: anyOf(r.typeUrl, resource.bytes),
    })),
  }),
  create: (snapshot, ready) => new DeltaStream(snapshot, ready),
};

/** One open, authenticated stream, as the change fan-out sees it. */
interface Session {
  readonly gateway: GatewayKey;
  onChange(typeUrls: readonly string[]): void;
}

export class XdsServer {
  readonly cache: SnapshotCache;
  readonly registry: Registry;
  readonly metrics: XdsMetrics;
  readonly #server: grpc.Server;
  readonly #authenticator: Authenticator;
  readonly #sessions = new Map<GatewayKey, Set<Session>>();
  readonly #nackListeners = new Set<(event: NackEvent) => void>();
  readonly #ackListeners = new Set<(event: AckEvent) => void>();
  readonly #unsubscribe: (() => void)[] = [];
  #port = 0;

  private constructor(options: XdsServerOptions) {
    this.cache = options.cache ?? new SnapshotCache();
    this.registry = options.registry ?? new Registry();
    this.metrics = createXdsMetrics(this.registry);
    this.#authenticator = options.authenticator ?? mtlsAuthenticator;
    this.#server = new grpc.Server({
      // Envoy's ADS streams live for days; keepalive finds dead peers so their streams are freed.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
    const definition = adsServiceDefinition();
    this.#server.addService(definition, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequestMessage, object>) =>
        this.#serve(call, sotw),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequestMessage, object>) =>
        this.#serve(call, delta),
    });
    this.#unsubscribe.push(
      this.cache.onChange((change) => this.#fanOut(change)),
      this.cache.onSynced(() => {
        for (const gateway of this.#sessions.keys()) this.#fanOut({ gateway, typeUrls: allTypes });
      }),
    );
  }

  /** Starts listening. Nothing is served until `markSynced()`. */
  static async start(options: XdsServerOptions): Promise<XdsServer> {
    const server = new XdsServer(options);
    const address = `${options.host ?? '127.0.0.1'}:${options.port}`;
    server.#port = await new Promise<number>((resolve, reject) => {
      server.#server.bindAsync(address, options.credentials, (error, port) => (error ? reject(error) : resolve(port)));
    });
    return server;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.#port;
  }

  /** Replaces a Gateway's resources; pushes only changed types, only to that Gateway's streams. */
  setSnapshot(gateway: GatewayKey, resources: ResourcesByTypeUrl, seenAt?: number): SnapshotChange {
    return this.cache.set(gateway, resources, seenAt);
  }

  /** The Gateway is gone: its streams see every resource removed. */
  removeSnapshot(gateway: GatewayKey): SnapshotChange {
    return this.cache.remove(gateway);
  }

  /** Every Gateway's first snapshot is set: start serving (before this, requests wait). */
  markSynced(): void {
    this.cache.markSynced();
  }

  onNack(listener: (event: NackEvent) => void): () => void {
    this.#nackListeners.add(listener);
    return () => this.#nackListeners.delete(listener);
  }

  onAck(listener: (event: AckEvent) => void): () => void {
    this.#ackListeners.add(listener);
    return () => this.#ackListeners.delete(listener);
  }

  /** Open authenticated streams of one Gateway. */
  streamCount(gateway: GatewayKey): number {
    return this.#sessions.get(gateway)?.size ?? 0;
  }

  async stop(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    await new Promise<void>((resolve) => {
      // Give streams a moment to close cleanly, then cut them (ADS streams never end on their own).
      const timer = setTimeout(() => this.#server.forceShutdown(), 1000);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #fanOut(change: SnapshotChange): void {
    const sessions = this.#sessions.get(change.gateway);
    if (!sessions) return;
    for (const session of sessions) session.onChange(change.typeUrls);
  }

  #serve<
    Msg extends { node?: { id?: string; cluster?: string } | null; typeUrl?: string },
    Req,
    Res extends BaseResponse,
  >(call: grpc.ServerDuplexStream<Msg, object>, protocol: Protocol<Msg, Req, Res>): void {
    const auth = call.getAuthContext();
    let session: (Session & { stream: ProtocolStream<Req, Res>; servedTypes?: ReadonlySet<string> }) | undefined;
    let nodeId = '';
    let closed = false;

    const deny = (result: Extract<AuthResult, { denied: string }>) => {
      this.metrics.denied.inc({ reason: result.reason });
      closed = true;
      close();
      call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: result.denied });
    };
    const send = (responses: Res[]) => {
      if (!session || closed) return;
      for (const response of responses) {
        call.write(protocol.toMessage(response));
        const type = typeLabel(response.typeUrl);
        this.metrics.pushes.inc({ gateway: session.gateway, type, protocol: protocol.name });
        if (response.changeSeenAt !== undefined) {
          this.metrics.pushLatency.observe({ type }, (performance.now() - response.changeSeenAt) / 1000);
        }
      }
    };
    const close = () => {
      if (!session) return;
      const sessions = this.#sessions.get(session.gateway);
      if (sessions?.delete(session)) {
        this.metrics.streams.dec({ gateway: session.gateway, protocol: protocol.name });
      }
      if (sessions?.size === 0) this.#sessions.delete(session.gateway);
    };

    const early = this.#authenticator.onConnect(auth);
    if (early && 'denied' in early) {
      deny(early);
      return;
    }

    call.on('data', (message: Msg) => {
      if (closed) return;
      const cluster = message.node?.cluster ?? '';
      if (!session) {
        nodeId = message.node?.id ?? '';
        const result = this.#authenticator.onNode(auth, cluster);
        if ('denied' in result) return deny(result);
        const gateway = result.gateway;
        const stream = protocol.create(
          () => this.cache.get(gateway),
          () => this.cache.synced,
        );
        const served = result.servedTypes;
        session = {
          gateway,
          stream,
          ...(served ? { servedTypes: served } : {}),
          onChange: (typeUrls) => send(stream.handleChange(served ? typeUrls.filter((t) => served.has(t)) : typeUrls)),
        };
        let sessions = this.#sessions.get(gateway);
        if (!sessions) {
          sessions = new Set();
          this.#sessions.set(gateway, sessions);
        }
        sessions.add(session);
        this.metrics.streams.inc({ gateway, protocol: protocol.name });
      } else if (cluster !== '' && cluster !== session.gateway) {
        // Envoy sends the node only once, but a client that changes its claim mid-stream is refused.
        return deny({ denied: `node cluster changed to ${JSON.stringify(cluster)}`, reason: 'wrong-gateway' });
      }
      if (session.servedTypes && !session.servedTypes.has(message.typeUrl ?? '')) return;
      const { outcome, responses } = session.stream.handleRequest(protocol.toRequest(message));
      this.#report(session.gateway, message.typeUrl ?? '', protocol.name, nodeId, outcome);
      send(responses);
    });
    call.on('end', () => {
      closed = true;
      close();
      call.end();
    });
    call.on('error', () => {
      closed = true;
      close();
    });
    call.on('cancelled', () => {
      closed = true;
      close();
    });
  }

  #report(gateway: GatewayKey, typeUrl: string, protocol: XdsProtocol, nodeId: string, outcome: RequestOutcome) {
    if (outcome.kind === 'nack') {
      this.metrics.nacks.inc({ gateway, type: typeLabel(typeUrl) });
      const event: NackEvent = {
        gateway,
        typeUrl,
        protocol,
        version: outcome.version,
        code: outcome.code,
        message: outcome.message,
        nodeId,
      };
      for (const listener of this.#nackListeners) listener(event);
    } else if (outcome.kind === 'ack') {
      const event: AckEvent = { gateway, typeUrl, protocol, version: outcome.version, nodeId };
      for (const listener of this.#ackListeners) listener(event);
    }
  }
}
