// The ADS server: one gRPC service, SotW and Delta, every Gateway's streams. The protocol rules live
// in sotw-stream.ts / delta-stream.ts; this file is the shell around them: authentication, wiring
// snapshot changes to the affected Gateway's streams only, encoding, callbacks and metrics.

import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { TypeUrls } from '../envoy/protos.ts';
import {
  adsServiceDefinition,
  anyOf,
  type DeltaDiscoveryRequestMessage,
  type DeltaDiscoveryResponseMessage,
  type DiscoveryRequestMessage,
  type DiscoveryResponseMessage,
  type NodeMessage,
} from './ads-service.ts';
import {
  type Authenticator,
  type AuthResult,
  mtlsAuthenticator,
  proxylessAuthenticator,
  type View,
} from './authenticate.ts';
import { type DeltaRequest, type DeltaResponse, DeltaStream } from './delta-stream.ts';
import type { GatewayKey } from './identity.ts';
import { createXdsMetrics, typeLabel, type XdsMetrics, type XdsProtocol } from './metrics.ts';
import { pushOrder as allTypes, type EncodedResource, type ResourcesByTypeUrl } from './resources.ts';
import {
  type GatewaySnapshot,
  SnapshotCache,
  type SnapshotChange,
  type TypeSnapshot,
  typeSnapshot,
} from './snapshot-cache.ts';
import { type RequestOutcome, type SotwRequest, type SotwResponse, SotwStream } from './sotw-stream.ts';

export interface XdsServerOptions {
  port: number;
  /** Address to listen on; 127.0.0.1 by default. The operator in a cluster passes '0.0.0.0'. */
  host?: string;
  /** `xdsServerCredentials(...)` from identity.ts: mTLS with a client certificate per Gateway. */
  credentials: grpc.ServerCredentials;
  /** Who may read which Gateway on the main port: the mTLS client certificate by default. */
  authenticator?: Authenticator;
  /**
   * A second, plaintext port for proxyless gRPC clients (which cannot present a client certificate
   * with @grpc/grpc-js-xds): serves the proxyless view of the Gateways `allow` accepts.
   */
  proxyless?: { port: number; host?: string; allow: (gateway: GatewayKey) => boolean };
  /** Where the metrics go (a new Registry by default, see `registry`). */
  registry?: Registry;
}

export interface SetSnapshotOptions {
  /** The Gateway's API listeners for proxyless gRPC (the translator's `proxylessListeners`). */
  proxylessListeners?: readonly EncodedResource[];
  /** When the change was seen (performance.now()), for the push latency histogram. */
  seenAt?: number;
}

/** Types the proxyless view takes from the Envoy resources; its Listeners are the API listeners. */
const proxylessSharedTypes = [TypeUrls.route, TypeUrls.cluster, TypeUrls.endpoint] as const;

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
  /** Which view the client reads: Envoy's, or proxyless gRPC's (undefined: Envoy's). */
  readonly view?: View;
}

/** A stream refused with PERMISSION_DENIED (no or wrong identity): it receives nothing. */
export interface DeniedEvent {
  readonly reason: 'no-identity' | 'wrong-gateway' | 'not-allowed';
  /** What the client is told (the gRPC status details). */
  readonly message: string;
  readonly protocol: XdsProtocol;
  /** The node the client named, when it got as far as its first request. */
  readonly nodeId?: string;
  readonly cluster?: string;
}

/** A proxy accepted a version (lets the operator clear a NACK condition). */
export interface AckEvent {
  readonly gateway: GatewayKey;
  readonly typeUrl: string;
  readonly protocol: XdsProtocol;
  readonly version: string;
  readonly nodeId: string;
  readonly view?: View;
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

interface Protocol<Msg extends { node?: NodeMessage | null; typeUrl?: string }, Req, Res extends BaseResponse> {
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

/** Calls an operator callback; its failure is reported, never thrown into a stream. */
function notify<E>(listener: (event: E) => void, event: E): void {
  try {
    listener(event);
  } catch (error) {
    process.emitWarning(`xDS ${String(error)}`, { code: 'LEGATE_XDS_LISTENER' });
  }
}

/** One open, authenticated stream, as the change fan-out sees it. */
interface Session {
  readonly gateway: GatewayKey;
  onChange(typeUrls: readonly string[]): void;
}

export class XdsServer {
  /** What Envoys read (per Gateway). */
  readonly cache: SnapshotCache;
  /** What proxyless gRPC clients read (per Gateway). */
  readonly proxylessCache: SnapshotCache;
  readonly registry: Registry;
  readonly metrics: XdsMetrics;
  readonly #servers: grpc.Server[] = [];
  readonly #sessions: Record<View, Map<GatewayKey, Set<Session>>> = { envoy: new Map(), proxyless: new Map() };
  readonly #nackListeners = new Set<(event: NackEvent) => void>();
  readonly #ackListeners = new Set<(event: AckEvent) => void>();
  readonly #deniedListeners = new Set<(event: DeniedEvent) => void>();
  #ports: { main: number; proxyless?: number } = { main: 0 };

  private constructor(registry: Registry | undefined) {
    this.cache = new SnapshotCache();
    this.proxylessCache = new SnapshotCache();
    this.registry = registry ?? new Registry();
    this.metrics = createXdsMetrics(this.registry);
    for (const view of ['envoy', 'proxyless'] as const) {
      const cache = this.#cacheFor(view);
      cache.onChange((change) => this.#fanOut(view, change));
      cache.onSynced(() => {
        for (const gateway of this.#sessions[view].keys()) this.#fanOut(view, { gateway, typeUrls: allTypes });
      });
    }
  }

  /** Starts listening. Nothing is served until `markSynced()`. */
  static async start(options: XdsServerOptions): Promise<XdsServer> {
    const server = new XdsServer(options.registry);
    const main = await server.#listen(
      options.host ?? '127.0.0.1',
      options.port,
      options.credentials,
      options.authenticator ?? mtlsAuthenticator,
    );
    server.#ports = { main };
    if (options.proxyless) {
      server.#ports.proxyless = await server.#listen(
        options.proxyless.host ?? options.host ?? '127.0.0.1',
        options.proxyless.port,
        grpc.ServerCredentials.createInsecure(),
        proxylessAuthenticator(options.proxyless.allow),
      );
    }
    return server;
  }

  /** The bound main (mTLS) port (useful with port 0). */
  get port(): number {
    return this.#ports.main;
  }

  /** The bound proxyless port, if there is one. */
  get proxylessPort(): number | undefined {
    return this.#ports.proxyless;
  }

  /**
   * Replaces a Gateway's resources; pushes only changed types, only to that Gateway's streams.
   * Returns what changed for its Envoys.
   */
  setSnapshot(gateway: GatewayKey, resources: ResourcesByTypeUrl, options: SetSnapshotOptions = {}): SnapshotChange {
    const seenAt = options.seenAt ?? performance.now();
    const change = this.cache.set(gateway, resources, seenAt);
    // The proxyless view shares the Envoy view's routes, clusters and endpoints (same objects, hashed
    // once); only its Listeners, the API listeners, are its own.
    const envoy = this.cache.get(gateway);
    const proxyless = new Map<string, TypeSnapshot>();
    for (const typeUrl of proxylessSharedTypes) {
      const shared = envoy?.get(typeUrl);
      if (shared) proxyless.set(typeUrl, shared);
    }
    proxyless.set(TypeUrls.listener, typeSnapshot(options.proxylessListeners ?? [], TypeUrls.listener, seenAt));
    this.proxylessCache.setTypes(gateway, proxyless, seenAt);
    return change;
  }

  /** The Gateway is gone: its streams see every resource removed. */
  removeSnapshot(gateway: GatewayKey): SnapshotChange {
    this.proxylessCache.remove(gateway);
    return this.cache.remove(gateway);
  }

  /** Every Gateway's first snapshot is set: start serving (before this, requests wait). */
  markSynced(): void {
    this.proxylessCache.markSynced();
    this.cache.markSynced();
  }

  onNack(listener: (event: NackEvent) => void): () => void {
    this.#nackListeners.add(listener);
    return () => this.#nackListeners.delete(listener);
  }

  /** Streams refused for their identity (counted in `legate_xds_denied_streams_total` too). */
  onDenied(listener: (event: DeniedEvent) => void): () => void {
    this.#deniedListeners.add(listener);
    return () => this.#deniedListeners.delete(listener);
  }

  onAck(listener: (event: AckEvent) => void): () => void {
    this.#ackListeners.add(listener);
    return () => this.#ackListeners.delete(listener);
  }

  /** Open authenticated streams of one Gateway (Envoy view by default). */
  streamCount(gateway: GatewayKey, view: View = 'envoy'): number {
    return this.#sessions[view].get(gateway)?.size ?? 0;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            // Give streams a moment to close cleanly, then cut them (ADS streams never end on their own).
            const timer = setTimeout(() => server.forceShutdown(), 1000);
            server.tryShutdown(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }

  #cacheFor(view: View): SnapshotCache {
    return view === 'envoy' ? this.cache : this.proxylessCache;
  }

  async #listen(
    host: string,
    port: number,
    credentials: grpc.ServerCredentials,
    authenticator: Authenticator,
  ): Promise<number> {
    const server = new grpc.Server({
      // Envoy's ADS streams live for days; keepalive finds dead peers so their streams are freed.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
    server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequestMessage, object>) =>
        this.#serve(call, sotw, authenticator),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequestMessage, object>) =>
        this.#serve(call, delta, authenticator),
    });
    this.#servers.push(server);
    return new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
    });
  }

  #fanOut(view: View, change: SnapshotChange): void {
    const sessions = this.#sessions[view].get(change.gateway);
    if (!sessions) return;
    for (const session of sessions) session.onChange(change.typeUrls);
  }

  #serve<Msg extends { node?: NodeMessage | null; typeUrl?: string }, Req, Res extends BaseResponse>(
    call: grpc.ServerDuplexStream<Msg, object>,
    protocol: Protocol<Msg, Req, Res>,
    authenticator: Authenticator,
  ): void {
    const auth = call.getAuthContext();
    let session: (Session & { stream: ProtocolStream<Req, Res>; view: View }) | undefined;
    let nodeId = '';
    let closed = false;

    const deny = (result: Extract<AuthResult, { denied: string }>, node?: { id: string; cluster: string }) => {
      this.metrics.denied.inc({ reason: result.reason });
      const event: DeniedEvent = {
        reason: result.reason,
        message: result.denied,
        protocol: protocol.name,
        ...(node ? { nodeId: node.id, cluster: node.cluster } : {}),
      };
      for (const listener of this.#deniedListeners) notify(listener, event);
      closed = true;
      close();
      call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: result.denied });
    };
    // A proxy that reads slower than config changes: while its send buffer is full, changes are
    // only noted; on 'drain' one response per type carries the latest state (the state machines diff
    // against what was sent, so skipped intermediate versions are never sent).
    let congested = false;
    const deferred = new Set<string>();
    const send = (responses: Res[]) => {
      if (!session || closed) return;
      for (const response of responses) {
        if (!call.write(protocol.toMessage(response))) congested = true;
        const type = typeLabel(response.typeUrl);
        this.metrics.pushes.inc({ gateway: session.gateway, type, protocol: protocol.name });
        if (response.changeSeenAt !== undefined) {
          this.metrics.pushLatency.observe({ type }, (performance.now() - response.changeSeenAt) / 1000);
        }
      }
    };
    const close = () => {
      if (!session) return;
      const sessions = this.#sessions[session.view].get(session.gateway);
      if (sessions?.delete(session)) {
        this.metrics.streams.dec({ gateway: session.gateway, protocol: protocol.name, view: session.view });
      }
      if (sessions?.size === 0) this.#sessions[session.view].delete(session.gateway);
    };

    const early = authenticator.onConnect(auth);
    if (early && 'denied' in early) {
      deny(early);
      return;
    }

    call.on('data', (message: Msg) => {
      if (closed) return;
      try {
        onRequest(message);
      } catch (error) {
        // A bug must cost one stream (the proxy reconnects), never the operator process.
        closed = true;
        close();
        call.emit('error', { code: grpc.status.INTERNAL, details: `xDS server error: ${String(error)}` });
      }
    });
    const onRequest = (message: Msg): void => {
      const cluster = message.node?.cluster ?? '';
      if (!session) {
        nodeId = message.node?.id ?? '';
        const result = authenticator.onNode(auth, { cluster, userAgentName: message.node?.userAgentName ?? '' });
        if ('denied' in result) {
          deny(result, { id: nodeId, cluster });
          return;
        }
        const { gateway, view } = result;
        const cache = this.#cacheFor(view);
        const stream = protocol.create(
          () => cache.get(gateway),
          () => cache.synced,
        );
        const onChange = (typeUrls: readonly string[]) => {
          if (!congested) return send(stream.handleChange(typeUrls));
          for (const typeUrl of typeUrls) deferred.add(typeUrl);
        };
        session = { gateway, view, stream, onChange };
        call.on('drain', () => {
          congested = false;
          const typeUrls = allTypes.filter((typeUrl) => deferred.has(typeUrl));
          deferred.clear();
          send(stream.handleChange(typeUrls));
        });
        let sessions = this.#sessions[view].get(gateway);
        if (!sessions) {
          sessions = new Set();
          this.#sessions[view].set(gateway, sessions);
        }
        sessions.add(session);
        this.metrics.streams.inc({ gateway, protocol: protocol.name, view });
      } else if (cluster !== '' && cluster !== session.gateway) {
        // Envoy sends the node only once, but a client that changes its claim mid-stream is refused.
        deny(
          { denied: `node cluster changed to ${JSON.stringify(cluster)}`, reason: 'wrong-gateway' },
          { id: nodeId, cluster },
        );
        return;
      }
      const { outcome, responses } = session.stream.handleRequest(protocol.toRequest(message));
      this.#report(session.gateway, session.view, message.typeUrl ?? '', protocol.name, nodeId, outcome);
      send(responses);
    };
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

  #report(
    gateway: GatewayKey,
    view: View,
    typeUrl: string,
    protocol: XdsProtocol,
    nodeId: string,
    outcome: RequestOutcome,
  ) {
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
        view,
      };
      for (const listener of this.#nackListeners) notify(listener, event);
    } else if (outcome.kind === 'ack') {
      const event: AckEvent = { gateway, typeUrl, protocol, version: outcome.version, nodeId, view };
      for (const listener of this.#ackListeners) notify(listener, event);
    }
  }
}
