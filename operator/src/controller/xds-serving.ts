// Puts the xDS side of the operator together: the ADS server (mTLS with the operator's CA, and an
// optional plaintext port for proxyless gRPC clients of Gateways that opt in), the store → translate
// → snapshot sync, and the status that comes back from it (route parents, listener status, NACKs).
// Every replica serves xDS from its own warm store; only the leader writes status.

import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { KubeApply } from '../infra/kube-apply.ts';
import { FieldManagers } from '../infra/names.ts';
import type { Gateway } from '../k8s/gateway-api.ts';
import {
  type GatewayKey,
  ServerCertificateProvider,
  type XdsCertificateAuthority,
  xdsServerCredentials,
} from '../xds/identity.ts';
import { NackTracker } from '../xds/nack-status.ts';
import { XdsServer } from '../xds/server.ts';
import { ConfigAcceptedWriter } from './config-accepted-status.ts';
import { EventRecorder } from './events.ts';
import { FilterSync } from './filter-sync.ts';
import { Kinds } from './gateway-controller.ts';
import type { Logger } from './log.ts';
import type { ObjectStore } from './store.ts';
import { TranslationStatusWriter } from './translation-status.ts';
import { XdsSync } from './xds-sync.ts';

/** A Gateway annotated with this (value "true") is also served on the plaintext proxyless port. */
export const proxylessAnnotation = 'legate.dev/proxyless-xds';

export interface XdsServingOptions {
  kubeConfig: KubeConfig;
  store: ObjectStore;
  ca: XdsCertificateAuthority;
  host: string;
  port: number;
  /** Plaintext port for proxyless gRPC clients (which cannot present a client certificate); off when undefined. */
  proxylessPort: number | undefined;
  /** DNS names and IPs in the server certificate: what the Envoys dial. */
  serverNames: { dns: string[]; ips: string[] };
  controllerName: string;
  /** WasmFilters here (the built-ins) may be used by every team's FilterPolicies. */
  operatorNamespace: string;
  /** Disk cache for verified Wasm modules; memory only when undefined. */
  moduleCacheDir?: string;
  leading: () => boolean;
  registry: Registry;
  log: Logger;
}

const dayMs = 24 * 60 * 60 * 1000;

export class XdsServing {
  readonly server: XdsServer;
  readonly sync: XdsSync;
  readonly status: TranslationStatusWriter;
  readonly filters: FilterSync;
  readonly #rotation: NodeJS.Timeout;

  private constructor(
    server: XdsServer,
    sync: XdsSync,
    status: TranslationStatusWriter,
    filters: FilterSync,
    rotation: NodeJS.Timeout,
  ) {
    this.server = server;
    this.sync = sync;
    this.status = status;
    this.filters = filters;
    this.#rotation = rotation;
  }

  /**
   * Call once the store has synced every kind: starts the module fetches, waits (at most
   * `firstFetchMs`) until each WasmFilter's first fetch has settled, then serves snapshots. A
   * restarted operator thus serves the modules the Envoys already run, at the same versions,
   * instead of "no module yet": that would make a FailClosed filter's routes answer 503 (and a
   * FailOpen filter be skipped) until the fetch is done, on every Envoy that reconnects meanwhile.
   */
  async startSync(firstFetchMs = 10_000): Promise<void> {
    this.filters.start();
    await this.filters.firstFetches(firstFetchMs);
    this.sync.start();
  }

  /** Starts listening at once (requests wait); call `startSync()` once the store has synced. */
  static async start(o: XdsServingOptions): Promise<XdsServing> {
    const log = o.log.child({ component: 'xds' });
    const provider = new ServerCertificateProvider(await o.ca.issueServerCertificate(o.serverNames));
    // The server certificate lives 90 days; renew it well before, without restarting the server.
    const rotation = setInterval(async () => {
      if (provider.current.notAfter.getTime() - Date.now() > 30 * dayMs) return;
      provider.update(await o.ca.issueServerCertificate(o.serverNames));
      log.info('xds server certificate renewed');
    }, dayMs);
    rotation.unref();
    const optedIn = (key: GatewayKey) =>
      o.store.get<Gateway>(Kinds.gateway, key)?.metadata.annotations?.[proxylessAnnotation] === 'true';
    const server = await XdsServer.start({
      host: o.host,
      port: o.port,
      credentials: xdsServerCredentials(provider),
      proxyless: o.proxylessPort === undefined ? undefined : { host: o.host, port: o.proxylessPort, allow: optedIn },
      registry: o.registry,
    });
    const status = new TranslationStatusWriter({
      kubeConfig: o.kubeConfig,
      kube: new KubeApply(o.kubeConfig, FieldManagers.listenerStatus),
      store: o.store,
      controllerName: o.controllerName,
      leading: o.leading,
      log,
      events: new EventRecorder(o.kubeConfig),
    });
    let sync: XdsSync | undefined;
    const filters = new FilterSync({
      kubeConfig: o.kubeConfig,
      store: o.store,
      operatorNamespace: o.operatorNamespace,
      controllerName: o.controllerName,
      leading: o.leading,
      log: log.child({ component: 'filters' }),
      poke: () => sync?.poke(),
      moduleCacheDir: o.moduleCacheDir,
    });
    const nacks = watchNacks(server, o, log);
    // A refused stream gets nothing; say why here too (Envoy logs it percent-encoded).
    server.onDenied((e) => log.warn('xds stream refused', { ...e }));
    sync = new XdsSync({
      store: o.store,
      xds: server,
      controllerName: o.controllerName,
      log,
      onTranslated: (t) => status.update(t),
      onHeld: (key, held) => nacks.held(key, held),
      onRemoved: (key) => status.remove(key),
      filters,
    });
    log.info('xds server listening', { port: server.port, proxylessPort: server.proxylessPort });
    return new XdsServing(server, sync, status, filters, rotation);
  }

  async stop(): Promise<void> {
    clearInterval(this.#rotation);
    this.sync.stop();
    this.filters.stop();
    await this.server.stop();
  }
}

/**
 * A proxy's NACK (and the ACK that later clears it) becomes the Gateway's ConfigAccepted condition,
 * which also names what NACK isolation holds back (`held`, called by the sync after each translation).
 */
function watchNacks(
  server: XdsServer,
  o: XdsServingOptions,
  log: Logger,
): { held: (gateway: GatewayKey, held: readonly { key: string }[]) => void } {
  const tracker = new NackTracker();
  const writer = new ConfigAcceptedWriter(o.kubeConfig, o.store);
  const write = (gatewayKey: GatewayKey) => {
    const condition = tracker.condition(gatewayKey);
    if (!condition || !o.leading()) return;
    writer
      .write(gatewayKey, condition)
      .catch((err: unknown) =>
        log.warn('could not write the ConfigAccepted condition', { gateway: gatewayKey, err: String(err) }),
      );
  };
  server.onNack((event) => {
    log.warn('proxy rejected configuration', {
      gateway: event.gateway,
      typeUrl: event.typeUrl,
      version: event.version,
      node: event.nodeId,
      message: event.message,
    });
    if (tracker.nack(event)) write(event.gateway);
  });
  server.onAck((event) => {
    if (tracker.ack(event)) write(event.gateway);
  });
  return {
    held: (gateway, held) => {
      if (
        tracker.held(
          gateway,
          held.map((h) => h.key),
        )
      )
        write(gateway);
    },
  };
}
