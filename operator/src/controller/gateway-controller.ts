// Reconciles GatewayClasses and Gateways of the legate.dev/gateway-controller: resolves the
// ProxyConfig layers, applies each Gateway's fleet through the infra reconciler, and writes status
// and Events. Reads come from the shared ObjectStore; a change to any object maps to the Gateways it
// affects, and each Gateway is reconciled on its own, so one bad Gateway never holds up another.

import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeApply } from '../infra/kube-apply.ts';
import { checkListeners } from '../infra/listeners.ts';
import { ControllerName } from '../infra/names.ts';
import {
  type EffectiveProxyConfig,
  effectiveProxyConfig,
  type ProxyConfig,
  ProxyConfigGroup,
  ProxyConfigKind,
  type ProxyConfigSpec,
} from '../infra/proxy-config.ts';
import type { ApplyResult } from '../infra/reconciler.ts';
import type { Gateway, GatewayClass } from '../k8s/gateway-api.ts';
import type { EventRecorder } from './events.ts';
import type { Logger } from './log.ts';
import type { OperatorMetrics } from './metrics.ts';
import { gatewayClassConditions, gatewayStatus, serviceAddresses, withTransitions } from './status.ts';
import { type ObjectStore, objectKey, type StoreChange } from './store.ts';
import { WorkQueue } from './work-queue.ts';

export const Kinds = { gatewayClass: 'GatewayClass', gateway: 'Gateway', proxyConfig: 'ProxyConfig' } as const;

/** What the controller needs from the infra reconciler (an interface so tests can count calls). */
export interface FleetPort {
  apply(gw: Gateway, config: EffectiveProxyConfig): Promise<ApplyResult>;
  remove(namespace: string, gatewayName: string): Promise<number>;
}

export interface GatewayControllerDeps {
  store: ObjectStore;
  fleet: FleetPort;
  kube: KubeApply;
  events: EventRecorder;
  metrics: OperatorMetrics;
  log: Logger;
  /** The GatewayClass controllerName this operator answers to (default legate.dev/gateway-controller). */
  controllerName?: string;
  /**
   * Write per-listener status (supportedKinds, conditions). Turn off once the translator writes
   * listener status from its fuller view (certificate refs, attached routes), so the two never fight.
   */
  writeListenerStatus?: boolean;
  now?: () => Date;
}

type ParamsResult = { ok: true; spec: ProxyConfigSpec | undefined } | { ok: false; message: string };

const classKey = (name: string) => `class:${name}`;
const gatewayQueueKey = (key: string) => `gateway:${key}`;

export class GatewayController {
  readonly queue: WorkQueue;
  readonly #d: GatewayControllerDeps;
  /** Gateways whose fleet exists (so a Gateway moving to another class is cleaned up). */
  readonly #managed = new Set<string>();

  constructor(deps: GatewayControllerDeps) {
    this.#d = deps;
    this.queue = new WorkQueue((key) => this.#reconcile(key), {
      onError: (key, err, attempt) => {
        deps.metrics.reconcileErrors.inc({ kind: key.split(':')[0] });
        deps.log.error('reconcile failed; will retry', { key, attempt, err });
      },
    });
    deps.store.subscribe((change) => this.onStoreChange(change));
  }

  /** Maps a store change to the keys it affects. */
  onStoreChange(change: StoreChange): void {
    const { store } = this.#d;
    switch (change.kind) {
      case Kinds.gateway:
        this.queue.add(gatewayQueueKey(change.key));
        break;
      case Kinds.gatewayClass:
        this.queue.add(classKey(change.key));
        break;
      case Kinds.proxyConfig: {
        const ns = change.object.metadata?.namespace;
        const name = change.object.metadata?.name;
        for (const gc of store.list<GatewayClass>(Kinds.gatewayClass)) {
          const ref = gc.spec.parametersRef;
          if (ref?.name === name && ref?.namespace === ns) this.queue.add(classKey(gc.metadata.name));
        }
        for (const gw of store.list<Gateway>(Kinds.gateway)) {
          if (gw.metadata.namespace === ns && gw.spec.infrastructure?.parametersRef?.name === name) {
            this.queue.add(gatewayQueueKey(objectKey(gw)));
          }
        }
        break;
      }
    }
  }

  /** A managed object changed (or was edited by hand): reconcile its Gateway. */
  onManagedObject(obj: KubernetesObject): void {
    const owner = obj.metadata?.ownerReferences?.find((o) => o.kind === 'Gateway');
    if (owner && obj.metadata?.namespace) this.queue.add(gatewayQueueKey(`${obj.metadata.namespace}/${owner.name}`));
  }

  enqueueAll(): void {
    for (const gc of this.#d.store.list(Kinds.gatewayClass)) this.queue.add(classKey(objectKey(gc)));
    for (const gw of this.#d.store.list(Kinds.gateway)) this.queue.add(gatewayQueueKey(objectKey(gw)));
  }

  get managedCount(): number {
    return this.#managed.size;
  }

  async #reconcile(queueKey: string): Promise<void> {
    const [kind, key] = [queueKey.slice(0, queueKey.indexOf(':')), queueKey.slice(queueKey.indexOf(':') + 1)];
    const end = this.#d.metrics.reconcileDuration.startTimer({ kind });
    try {
      const result = kind === 'class' ? await this.#reconcileClass(key) : await this.#reconcileGateway(key);
      this.#d.metrics.reconciles.inc({ kind, result });
    } catch (err) {
      this.#d.metrics.reconciles.inc({ kind, result: 'error' });
      throw err;
    } finally {
      end();
      this.#d.metrics.managedGateways.set(this.#managed.size);
    }
  }

  #ourClass(name: string): GatewayClass | undefined {
    const gc = this.#d.store.get<GatewayClass>(Kinds.gatewayClass, name);
    return gc?.spec.controllerName === (this.#d.controllerName ?? ControllerName) ? gc : undefined;
  }

  /** The ProxyConfig a reference points to, or why it cannot be used. */
  #resolveParams(
    ref: { group: string; kind: string; name: string; namespace?: string } | undefined,
    namespace: string | undefined,
    where: string,
  ): ParamsResult {
    if (!ref) return { ok: true, spec: undefined };
    if (ref.group !== ProxyConfigGroup || ref.kind !== ProxyConfigKind) {
      return {
        ok: false,
        message: `${where} must point to a ${ProxyConfigGroup} ${ProxyConfigKind}, not ${ref.group || 'core'}/${ref.kind}`,
      };
    }
    if (!namespace) return { ok: false, message: `${where} to a ProxyConfig needs a namespace` };
    const pc = this.#d.store.get<ProxyConfig & KubernetesObject>(Kinds.proxyConfig, `${namespace}/${ref.name}`);
    if (!pc) return { ok: false, message: `${where}: ProxyConfig ${namespace}/${ref.name} not found` };
    return { ok: true, spec: pc.spec ?? {} };
  }

  async #reconcileClass(name: string): Promise<string> {
    const gc = this.#ourClass(name);
    // Every Gateway of the class depends on its parameters.
    for (const gw of this.#d.store.list<Gateway>(Kinds.gateway)) {
      if (gw.spec.gatewayClassName === name) this.queue.add(gatewayQueueKey(objectKey(gw)));
    }
    if (!gc) return 'ignored';
    const params = this.#resolveParams(gc.spec.parametersRef, gc.spec.parametersRef?.namespace, 'parametersRef');
    let problem = params.ok ? undefined : params.message;
    if (params.ok && params.spec) {
      const eff = effectiveProxyConfig(params.spec);
      if (!eff.ok)
        problem = `ProxyConfig ${gc.spec.parametersRef?.namespace}/${gc.spec.parametersRef?.name}: ${eff.problems.join('; ')}`;
    }
    const conditions = withTransitions(
      gc.status?.conditions,
      gatewayClassConditions(problem ? { reason: 'InvalidParameters', message: problem } : undefined),
      gc.metadata.generation,
      this.#now(),
    );
    await this.#d.kube.applyStatus(
      { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gatewayclasses', kind: 'GatewayClass', name },
      { conditions },
    );
    if (problem && this.#changed(gc.status?.conditions, 'Accepted', 'False')) {
      await this.#event(
        { ...gc, kind: 'GatewayClass', apiVersion: 'gateway.networking.k8s.io/v1' },
        'InvalidParameters',
        problem,
      );
    }
    return problem ? 'invalid' : 'success';
  }

  async #reconcileGateway(key: string): Promise<string> {
    const [namespace, name] = key.split('/') as [string, string];
    const gw = this.#d.store.get<Gateway & KubernetesObject>(Kinds.gateway, key);
    if (!gw || !this.#ourClass(gw.spec.gatewayClassName)) {
      // Deleted, or no longer ours: remove what we made (the test API server has no garbage collector).
      if (this.#managed.has(key) || !gw) {
        const deleted = await this.#d.fleet.remove(namespace, name);
        if (deleted > 0) this.#d.log.info('removed Envoy fleet', { gateway: key, objects: deleted });
        this.#managed.delete(key);
      }
      return gw ? 'ignored' : 'deleted';
    }
    const gc = this.#ourClass(gw.spec.gatewayClassName) as GatewayClass;
    const classParams = this.#resolveParams(
      gc.spec.parametersRef,
      gc.spec.parametersRef?.namespace,
      `GatewayClass ${gc.metadata.name} parametersRef`,
    );
    const gwParams = this.#resolveParams(
      gw.spec.infrastructure?.parametersRef,
      namespace,
      'spec.infrastructure.parametersRef',
    );
    const paramProblem = [classParams, gwParams].find((p) => !p.ok);
    const eff = classParams.ok && gwParams.ok ? effectiveProxyConfig(classParams.spec, gwParams.spec) : undefined;
    const message =
      paramProblem && !paramProblem.ok
        ? paramProblem.message
        : eff && !eff.ok
          ? `invalid ProxyConfig: ${eff.problems.join('; ')}`
          : undefined;

    if (message || !eff?.ok) {
      // Keep a running fleet as it is: bad parameters must not take a working Gateway down.
      await this.#writeGatewayStatus(
        gw,
        gatewayStatus(gw, { kind: 'invalid-parameters', message: message as string }, this.#now()),
      );
      if (this.#changed(gw.status?.conditions, 'Accepted', 'False', 'InvalidParameters')) {
        await this.#event(gw, 'InvalidParameters', message as string);
      }
      this.#d.log.warn('gateway has invalid parameters', { gateway: key, message });
      return 'invalid';
    }
    const applied = await this.#d.fleet.apply(gw, eff.config);
    this.#managed.add(key);
    const listeners = checkListeners(gw.spec.listeners);
    const status = gatewayStatus(
      gw,
      {
        kind: 'applied',
        listeners,
        availableReplicas:
          (applied.deployment as { status?: { availableReplicas?: number } }).status?.availableReplicas ?? 0,
        addresses: applied.service ? serviceAddresses(applied.service as Parameters<typeof serviceAddresses>[0]) : [],
      },
      this.#now(),
    );
    await this.#writeGatewayStatus(gw, status);
    for (const l of listeners) {
      const before = gw.status?.listeners?.find((s) => s.name === l.name);
      if (
        l.problem &&
        this.#changed(
          before?.conditions,
          l.problem.condition,
          l.problem.condition === 'Accepted' ? 'False' : 'True',
          l.problem.reason,
        )
      ) {
        await this.#event(gw, l.problem.reason, `listener ${l.name}: ${l.problem.message}`);
      }
    }
    this.#d.log.debug('reconciled gateway', { gateway: key });
    return listeners.some((l) => l.problem) ? 'invalid' : 'success';
  }

  async #writeGatewayStatus(gw: Gateway, full: ReturnType<typeof gatewayStatus>): Promise<void> {
    const { listeners, ...gatewayLevel } = full;
    const status = this.#d.writeListenerStatus === false ? gatewayLevel : full;
    await this.#d.kube.applyStatus(
      {
        group: 'gateway.networking.k8s.io',
        version: 'v1',
        plural: 'gateways',
        kind: 'Gateway',
        namespace: gw.metadata.namespace,
        name: gw.metadata.name,
      },
      status,
    );
  }

  /** True when the condition is not already at this status (and reason): the moment to send an Event. */
  #changed(
    conditions: { type: string; status: string; reason: string }[] | undefined,
    type: string,
    status: string,
    reason?: string,
  ): boolean {
    const c = conditions?.find((x) => x.type === type);
    return !c || c.status !== status || (reason !== undefined && c.reason !== reason);
  }

  async #event(
    obj: { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string; uid?: string } },
    reason: string,
    message: string,
  ): Promise<void> {
    try {
      await this.#d.events.record(
        {
          apiVersion: obj.apiVersion ?? 'gateway.networking.k8s.io/v1',
          kind: obj.kind ?? 'Gateway',
          name: obj.metadata.name,
          namespace: obj.metadata.namespace,
          uid: obj.metadata.uid,
        },
        'Warning',
        reason,
        message,
      );
    } catch (err) {
      this.#d.log.warn('could not record event', { reason, err });
    }
  }

  #now(): Date {
    return this.#d.now?.() ?? new Date();
  }
}
