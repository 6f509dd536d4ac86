// Writes a Gateway's `legate.dev/ConfigAccepted` condition (what its Envoys said about the last config:
// ACK or NACK with Envoy's error text). Server-side apply under its own field manager, so it owns that
// one condition only: the Gateway controller's conditions and the translator's listener status, each
// applied under their own managers, are never removed by it (nor it by them).

import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApply } from '../infra/kube-apply.ts';
import { FieldManagers } from '../infra/names.ts';
import type { Gateway } from '../k8s/gateway-api.ts';
import type { ConfigAcceptedCondition } from '../xds/nack-status.ts';
import { Kinds } from './gateway-controller.ts';
import { withTransitions } from './status.ts';
import type { ObjectStore } from './store.ts';

export class ConfigAcceptedWriter {
  readonly #kube: KubeApply;
  readonly #store: ObjectStore;

  constructor(kubeConfig: KubeConfig, store: ObjectStore) {
    this.#kube = new KubeApply(kubeConfig, FieldManagers.configAccepted);
    this.#store = store;
  }

  /** Applies the condition; false when the Gateway is not (or no longer) in the store. */
  async write(gatewayKey: string, condition: ConfigAcceptedCondition, now = new Date()): Promise<boolean> {
    const gateway = this.#store.get<Gateway>(Kinds.gateway, gatewayKey);
    if (!gateway) return false;
    const [namespace, name] = gatewayKey.split('/') as [string, string];
    const previous = gateway.status?.conditions?.filter((c) => c.type === condition.type);
    const conditions = withTransitions(previous, [condition], gateway.metadata.generation, now);
    await this.#kube.applyStatus(
      { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways', kind: 'Gateway', namespace, name },
      { conditions },
    );
    return true;
  }
}
