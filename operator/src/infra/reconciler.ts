// Puts a Gateway's fleet into the cluster and keeps it there: server-side apply of every desired
// object (forced, so hand edits of managed fields are reverted), deletion of what is no longer
// desired (the HPA when autoscaling is switched off), the xDS client certificate Secret, and
// explicit cleanup when the Gateway goes away (ownerReferences alone would need a garbage collector).

import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Gateway } from '../k8s/gateway-api.ts';
import {
  clientCertSecretKeys,
  clientCertSecretName,
  clientSecretProblem,
  gatewayKey,
  type IssuedCertificate,
} from '../xds/identity.ts';
import { buildFleet, type Fleet, FleetKinds, type FleetSettings, type Manifest } from './fleet.ts';
import { KubeApply } from './kube-apply.ts';
import { FieldManager, Labels, labelSelectorString, managedLabels } from './names.ts';
import type { EffectiveProxyConfig } from './proxy-config.ts';

/** Issues a Gateway's xDS client certificate (operator/src/xds/identity.ts XdsCertificateAuthority fits). */
export interface GatewayCertificateIssuer {
  readonly certPem: string;
  issueGatewayCertificate(key: `${string}/${string}`): Promise<IssuedCertificate>;
}

export interface ReconcilerOptions extends FleetSettings {
  /** Without one, the Secret `legate-<gateway>-xds` is left to whoever else provides it. */
  issuer?: GatewayCertificateIssuer;
}

/** Kinds the cleanup looks for: the fleet plus the certificate Secret. */
const cleanupKinds = [...FleetKinds, { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' }] as const;

export interface ApplyResult {
  fleet: Fleet;
  /** The live Service after apply (for status addresses); undefined when no listener is valid. */
  service: KubernetesObject | undefined;
  /** The live Deployment after apply (for Programmed). */
  deployment: KubernetesObject;
}

/** Selects every object Legate made for one Gateway. */
function gatewaySelector(gatewayName: string): string {
  return labelSelectorString({
    [Labels.managedBy]: 'legate',
    [Labels.gatewayName]: managedLabels(gatewayName)[Labels.gatewayName] as string,
  });
}

export class FleetReconciler {
  readonly #kube: KubeApply;
  readonly #options: ReconcilerOptions;

  constructor(kc: KubeConfig, options: ReconcilerOptions) {
    this.#kube = new KubeApply(kc, FieldManager);
    this.#options = options;
  }

  async apply(gw: Gateway, config: EffectiveProxyConfig): Promise<ApplyResult> {
    const fleet = buildFleet(gw, config, this.#options);
    if (this.#options.issuer) await this.#ensureCertificate(gw, fleet.serviceAccount);
    const live: Record<string, KubernetesObject> = {};
    for (const obj of [fleet.serviceAccount, fleet.configMap, fleet.deployment, fleet.service, fleet.hpa, fleet.pdb]) {
      if (obj) live[obj.kind] = await this.#kube.apply(obj);
    }
    // Objects the Gateway no longer needs: the HPA once autoscaling is off, the Service once no
    // listener is valid.
    for (const [absent, kind] of [
      [!fleet.hpa, 'HorizontalPodAutoscaler'],
      [!fleet.service, 'Service'],
    ] as const) {
      const apiVersion = FleetKinds.find((k) => k.kind === kind)?.apiVersion as string;
      if (absent) await this.#deleteIfOurs(apiVersion, kind, gw);
    }
    return { fleet, service: live.Service, deployment: live.Deployment as KubernetesObject };
  }

  /** Deletes everything Legate created for the Gateway; returns how many objects were deleted. */
  async remove(namespace: string, gatewayName: string): Promise<number> {
    const selector = gatewaySelector(gatewayName);
    let deleted = 0;
    for (const { apiVersion, kind } of cleanupKinds) {
      for (const item of await this.#kube.list(apiVersion, kind, namespace, selector)) {
        if (await this.#kube.delete(apiVersion, kind, namespace, item.metadata?.name as string)) deleted++;
      }
    }
    return deleted;
  }

  /**
   * Removes fleets whose Gateway no longer exists (deleted while no operator was running).
   * `exists(namespace, gateway)` answers from the watch cache.
   */
  async sweepOrphans(namespace: string | undefined, exists: (ns: string, name: string) => boolean): Promise<string[]> {
    const found = await this.#kube.list('apps/v1', 'Deployment', namespace, `${Labels.managedBy}=legate`);
    const orphans = new Set<string>();
    for (const d of found) {
      const ns = d.metadata?.namespace as string;
      const owner = d.metadata?.ownerReferences?.find((o) => o.kind === 'Gateway')?.name;
      if (owner && !exists(ns, owner)) orphans.add(`${ns}/${owner}`);
    }
    for (const key of orphans) {
      const [ns, name] = key.split('/') as [string, string];
      await this.remove(ns, name);
    }
    return [...orphans];
  }

  /** Deletes this Gateway's objects of one kind (found by label, confirmed by owner uid). */
  async #deleteIfOurs(apiVersion: string, kind: string, gw: Gateway): Promise<void> {
    const namespace = gw.metadata.namespace as string;
    for (const item of await this.#kube.list(apiVersion, kind, namespace, gatewaySelector(gw.metadata.name))) {
      if (item.metadata?.ownerReferences?.some((o) => o.uid === gw.metadata.uid)) {
        await this.#kube.delete(apiVersion, kind, namespace, item.metadata.name as string);
      }
    }
  }

  /**
   * Issues the certificate when the Secret is missing, unreadable, from another CA, for another
   * Gateway, holds a key that is not the certificate's, or is due for rotation (clientSecretProblem).
   */
  async #ensureCertificate(gw: Gateway, template: Manifest): Promise<void> {
    const issuer = this.#options.issuer as GatewayCertificateIssuer;
    const namespace = gw.metadata.namespace as string;
    const name = clientCertSecretName(gw.metadata.name);
    const existing = await this.#kube.read<KubernetesObject & { data?: Record<string, string> }>(
      'v1',
      'Secret',
      namespace,
      name,
    );
    const pem = Object.fromEntries(
      Object.values(clientCertSecretKeys).map((k) => [k, Buffer.from(existing?.data?.[k] ?? '', 'base64').toString()]),
    );
    if (clientSecretProblem(pem, issuer.certPem, gatewayKey(namespace, gw.metadata.name)) === undefined) return;
    const issued = await issuer.issueGatewayCertificate(gatewayKey(namespace, gw.metadata.name));
    await this.#kube.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...template.metadata, name },
      type: 'kubernetes.io/tls',
      stringData: {
        [clientCertSecretKeys.cert]: issued.certPem,
        [clientCertSecretKeys.key]: issued.keyPem,
        [clientCertSecretKeys.ca]: issued.caPem,
      },
    });
  }
}
