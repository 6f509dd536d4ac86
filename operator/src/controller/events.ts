// Kubernetes Events for bad input, so `kubectl describe gateway` shows why a Gateway is not working.

import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export class EventRecorder {
  readonly #api: CoreV1Api;
  readonly #component: string;

  constructor(kc: KubeConfig, component = 'legate-operator') {
    this.#api = kc.makeApiClient(CoreV1Api);
    this.#component = component;
  }

  async record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    // Cluster-scoped objects (GatewayClass) get their events in "default", as kubectl expects.
    const namespace = target.namespace ?? 'default';
    const now = new Date();
    await this.#api.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${target.name}.`, namespace },
        involvedObject: { ...target },
        type,
        reason,
        message,
        source: { component: this.#component },
        reportingComponent: this.#component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }
}
