// The operator process's core, without flags or servers: watches into the ObjectStore, leader
// election, and the Gateway controller that acts only while this replica leads. Every replica keeps
// its store warm, so a standby takes over with synced caches, and other parts of the process (the
// translator, the xDS server) can subscribe to the same store.

import { CustomObjectsApi, type KubeConfig, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { FleetKinds } from '../infra/fleet.ts';
import { KubeApply } from '../infra/kube-apply.ts';
import { FieldManager, Labels } from '../infra/names.ts';
import { ProxyConfigGroup, ProxyConfigPlural, ProxyConfigVersion } from '../infra/proxy-config.ts';
import { FleetReconciler, type GatewayCertificateIssuer } from '../infra/reconciler.ts';
import { EventRecorder } from './events.ts';
import { FrameworkWatches, type WatchEventType, type WatchTarget } from './framework-watch.ts';
import { GatewayController, Kinds } from './gateway-controller.ts';
import { defaultLeaseTiming, LeaderElector } from './leader-election.ts';
import { listPages } from './list-pages.ts';
import type { Logger } from './log.ts';
import type { OperatorMetrics } from './metrics.ts';
import { ObjectStore, objectKey } from './store.ts';

/** A kind the store caches: how to list it (client-node 2.x) and watch it (the framework). */
export interface StoredKind {
  kind: string;
  apiVersion: string;
  watch: Omit<WatchTarget, 'namespace'>;
  clusterScoped?: boolean;
  /** Caches only the objects this accepts (an object that stops being accepted leaves the store). */
  keep?: (obj: KubernetesObject, store: ObjectStore) => boolean;
}

export const gatewayApiKinds: StoredKind[] = [
  {
    kind: Kinds.gatewayClass,
    apiVersion: 'gateway.networking.k8s.io/v1',
    watch: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gatewayclasses' },
    clusterScoped: true,
  },
  {
    kind: Kinds.gateway,
    apiVersion: 'gateway.networking.k8s.io/v1',
    watch: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' },
  },
  {
    kind: Kinds.proxyConfig,
    apiVersion: `${ProxyConfigGroup}/${ProxyConfigVersion}`,
    watch: { group: ProxyConfigGroup, version: ProxyConfigVersion, plural: ProxyConfigPlural },
  },
];

export interface OperatorSettings {
  kubeConfig: KubeConfig;
  /** Passed to the framework (which has its own, older client); undefined = its defaults. */
  kubeconfigPath: string | undefined;
  namespace: string | undefined;
  operatorNamespace: string;
  xdsAddress: string;
  leaderElect: boolean;
  leaseName: string;
  identity: string;
  resyncSeconds: number;
  controllerName?: string;
  writeListenerStatus?: boolean;
  issuer?: GatewayCertificateIssuer;
  /** More kinds to cache (the translator's routes, Services, Secrets...). */
  extraKinds?: StoredKind[];
  log: Logger;
  metrics: OperatorMetrics;
  /** Called with every watch event of a managed fleet object (filters follow the Envoy replicas). */
  onFleetObject?: (type: WatchEventType, obj: KubernetesObject) => void;
  /** Called when this replica starts leading (other status writers catch up then). */
  onStartedLeading?: () => void;
  /** Called when leadership is lost; the default exits so Kubernetes restarts the replica clean. */
  onLostLeadership?: () => void;
}

export class LegateOperator {
  readonly store = new ObjectStore();
  readonly controller: GatewayController;
  readonly #s: OperatorSettings;
  readonly #kinds: StoredKind[];
  readonly #objects: KubernetesObjectApi;
  readonly #customObjects: CustomObjectsApi;
  readonly #reconciler: FleetReconciler;
  #watches: FrameworkWatches | undefined;
  #elector: LeaderElector | undefined;
  #resync: NodeJS.Timeout | undefined;
  #leading = false;
  /** Kinds whose CRD the API server does not serve. */
  readonly #missing = new Set<string>();

  constructor(settings: OperatorSettings) {
    this.#s = settings;
    this.#kinds = [...gatewayApiKinds, ...(settings.extraKinds ?? [])];
    // The xDS client certificate Secrets come back within seconds of a deletion or a hand edit, not
    // at the next resync: a change to a managed Secret reconciles its Gateway, whose reconcile
    // reissues the certificate unless the Secret is still good. The translator caches Secrets
    // anyway; without it, the store caches the managed ones.
    if (settings.issuer && !this.#kinds.some((k) => k.kind === 'Secret'))
      this.#kinds.push({
        kind: 'Secret',
        apiVersion: 'v1',
        watch: { group: '', version: 'v1', plural: 'secrets' },
        keep: (obj) => obj.metadata?.labels?.[Labels.managedBy] === 'legate',
      });
    if (settings.issuer)
      this.store.subscribe((c) => {
        if (c.kind !== 'Secret' || c.object.metadata?.labels?.[Labels.managedBy] !== 'legate') return;
        // A restarted watch replays every object unchanged: only a new resourceVersion is an edit.
        if (c.type === 'upsert' && c.previous?.metadata?.resourceVersion === c.object.metadata?.resourceVersion) return;
        this.controller.onManagedObject(c.object);
      });
    this.#objects = KubernetesObjectApi.makeApiClient(settings.kubeConfig);
    this.#customObjects = settings.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#reconciler = new FleetReconciler(settings.kubeConfig, {
      xdsAddress: settings.xdsAddress,
      issuer: settings.issuer,
    });
    this.controller = new GatewayController({
      store: this.store,
      fleet: this.#reconciler,
      kube: new KubeApply(settings.kubeConfig, FieldManager),
      events: new EventRecorder(settings.kubeConfig),
      metrics: settings.metrics,
      log: settings.log.child({ component: 'gateway-controller' }),
      controllerName: settings.controllerName,
      writeListenerStatus: settings.writeListenerStatus,
    });
  }

  get leading(): boolean {
    return this.#leading;
  }

  get synced(): boolean {
    return this.store.synced(...this.#kinds.map((k) => k.kind));
  }

  async start(): Promise<void> {
    const log = this.#s.log;
    await this.#listAll();
    log.info('caches synced', { kinds: this.#kinds.map((k) => k.kind) });
    this.#watches = new FrameworkWatches(this.#s.kubeconfigPath, {
      debug: (m) => log.debug(m, { component: 'k8s-operator' }),
      info: (m) => log.debug(m, { component: 'k8s-operator' }),
      warn: (m) => log.warn(m, { component: 'k8s-operator' }),
      error: (m) => log.error(m, { component: 'k8s-operator' }),
    });
    await this.#watches.start();
    for (const k of this.#kinds.filter((kind) => !this.#missing.has(kind.kind))) {
      await this.#watches.watch(
        { ...k.watch, namespace: k.clusterScoped ? undefined : this.#s.namespace },
        (type, obj) => {
          if (type === 'DELETED' || (k.keep && !k.keep(obj, this.store))) {
            if (type === 'DELETED' || this.store.get(k.kind, objectKey(obj))) this.store.delete(k.kind, obj);
          } else this.store.upsert(k.kind, obj);
        },
      );
    }
    // Hand edits and status changes of managed objects (the Deployment's availableReplicas) lead
    // back to their Gateway.
    for (const fk of FleetKinds) {
      const [group, version] = fk.apiVersion.includes('/') ? fk.apiVersion.split('/') : ['', fk.apiVersion];
      await this.#watches.watch(
        { group: group as string, version: version as string, plural: fk.plural, namespace: this.#s.namespace },
        (type, obj) => {
          const labels = (obj.metadata as { labels?: Record<string, string> } | undefined)?.labels;
          if (labels?.[Labels.managedBy] !== 'legate') return;
          this.controller.onManagedObject(obj);
          this.#s.onFleetObject?.(type, obj as KubernetesObject);
        },
      );
    }
    this.#resync = setInterval(() => {
      this.#listAll().catch((err) => log.warn('resync failed', { err }));
    }, this.#s.resyncSeconds * 1000);
    this.#resync.unref();
    if (this.#s.leaderElect) {
      this.#elector = new LeaderElector(this.#s.kubeConfig, {
        namespace: this.#s.operatorNamespace,
        name: this.#s.leaseName,
        identity: this.#s.identity,
        ...defaultLeaseTiming,
        log: log.child({ component: 'leader-election' }),
        onStartedLeading: () => void this.#lead(),
        onStoppedLeading: () => {
          this.#leading = false;
          this.#s.metrics.leader.set(0);
          this.controller.queue.stop();
          (this.#s.onLostLeadership ?? (() => process.exit(1)))();
        },
      });
      this.#elector.start();
    } else {
      await this.#lead();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#resync);
    this.controller.queue.stop();
    await this.#elector?.release();
    this.#leading = false;
    this.#s.metrics.leader.set(0);
  }

  async #lead(): Promise<void> {
    this.#leading = true;
    this.#s.metrics.leader.set(1);
    const log = this.#s.log;
    try {
      const swept = await this.#reconciler.sweepOrphans(
        this.#s.namespace,
        (ns, name) => this.store.get(Kinds.gateway, `${ns}/${name}`) !== undefined,
      );
      if (swept.length > 0) log.info('removed fleets of deleted Gateways', { gateways: swept });
    } catch (err) {
      log.warn('orphan sweep failed', { err });
    }
    this.controller.enqueueAll();
    this.controller.queue.resume();
    this.#s.onStartedLeading?.();
  }

  /**
   * Lists every kind into the store. A kind the API server does not serve (its CRD is not installed)
   * is cached as empty and not watched (the framework would exit on the failing watch); transient
   * answers (429 while a new CRD's storage initialises, 5xx, connection errors) are retried.
   */
  async #listAll(): Promise<void> {
    for (const k of this.#kinds) {
      if (this.#missing.has(k.kind)) continue;
      const items = await this.#listKind(k);
      if (items === undefined) {
        this.#missing.add(k.kind);
        this.#s.log.warn('kind not served by the API server; not watching it', {
          kind: k.kind,
          apiVersion: k.apiVersion,
        });
        this.store.replace(k.kind, []);
      } else {
        const keep = k.keep;
        this.store.replace(k.kind, keep ? items.filter((o) => keep(o, this.store)) : items);
      }
    }
  }

  async #listKind(k: StoredKind): Promise<KubernetesObject[] | undefined> {
    const deadline = Date.now() + 60_000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await listPages(
          this.#objects,
          { ...k, plural: k.watch.plural },
          k.clusterScoped ? undefined : this.#s.namespace,
          undefined,
          this.#customObjects,
        );
      } catch (err) {
        const code = (err as { code?: number }).code;
        const notServed = code === 404 || /resource.*not found|Unrecognized API version and kind/i.test(String(err));
        if (notServed) return undefined;
        // 410: a continue token expired between pages; the list starts over.
        const transient = code === undefined || code === 410 || code === 429 || code >= 500;
        if (!transient || Date.now() > deadline) throw err;
        this.#s.log.debug('list failed, retrying', { kind: k.kind, attempt, err: (err as Error).message });
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** (attempt - 1), 5000)));
      }
    }
  }
}
