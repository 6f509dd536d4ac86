// The node's part in the local demo. The local control plane has no kubelet, no kube-controller-manager
// and no load-balancer controller, so nothing would ever run a Gateway's Envoy or report on it. The
// demo does their jobs, and only those:
// - kubelet: runs one Envoy pod per Gateway Deployment from the operator's own objects (the
//   Deployment's command and arguments, its ConfigMap and xDS Secret mounted as kubelet mounts them;
//   test/harness/envoy.ts), and refreshes the mounted files when the ConfigMap or Secret changes;
// - the Deployment controller: writes the Deployment's status (replicas, updated, ready and available
//   replicas, observedGeneration, the Available condition) from that pod's real readiness, GET /ready
//   on Envoy's readiness port, the Deployment's readiness probe;
// - a load-balancer controller (as MetalLB would): gives a LoadBalancer Service the pod's address in
//   `status.loadBalancer.ingress`.
// The operator reads these as it would in a cluster: Programmed=True from availableReplicas, the
// Gateway's addresses from the Service.
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { managedName, xdsSecretName } from '../../operator/src/infra/names.ts';
import { type EnvoyPod, startGatewayEnvoy } from '../../test/harness/envoy.ts';

/** The field manager of everything the demo writes in place of the node and its controllers. */
export const demoFieldManager = 'legate-demo-node';

// biome-ignore lint/suspicious/noExplicitAny: objects read back from the API server
type Obj = any;

export interface GatewayPod {
  readonly namespace: string;
  readonly gateway: string;
  readonly pod: EnvoyPod;
  /** The last readiness the demo reported in the Deployment's status. */
  readonly ready: boolean;
}

interface Tracked {
  namespace: string;
  gateway: string;
  pod: EnvoyPod;
  ready: boolean;
  exit?: number | string | null;
  /** The pod template the pod was started from (a changed one is not rolled out by the demo). */
  template: string;
  /** resourceVersions of the mounted ConfigMap and Secret, to refresh the mounts on a change. */
  volumes: string;
  lastStatus?: string;
  lastIngress?: string;
  /** When readiness last changed: the Available condition's lastTransitionTime. */
  transition: string;
  warnedTemplate?: boolean;
}

const timestamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class DemoNode {
  readonly #objects: KubernetesObjectApi;
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #kc: KubeConfig;
  readonly #say: (line: string) => void;
  readonly #pods: Tracked[] = [];
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #stopped = false;

  constructor(kc: KubeConfig, say: (line: string) => void) {
    this.#kc = kc;
    this.#say = say;
    this.#objects = KubernetesObjectApi.makeApiClient(kc);
    this.#apps = kc.makeApiClient(AppsV1Api);
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  get pods(): GatewayPod[] {
    return this.#pods.map((t) => ({ namespace: t.namespace, gateway: t.gateway, pod: t.pod, ready: t.ready }));
  }

  async #read(apiVersion: string, kind: string, namespace: string, name: string): Promise<Obj | undefined> {
    try {
      return await this.#objects.read({ apiVersion, kind, metadata: { name, namespace } });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  async #volumeVersions(namespace: string, gateway: string): Promise<string> {
    const [cm, secret] = await Promise.all([
      this.#read('v1', 'ConfigMap', namespace, managedName(gateway)),
      this.#read('v1', 'Secret', namespace, xdsSecretName(gateway)),
    ]);
    return `${cm?.metadata?.resourceVersion}/${secret?.metadata?.resourceVersion}`;
  }

  /**
   * Waits for the operator to apply the Gateway's Deployment, ConfigMap and xDS Secret, then starts
   * its pod and keeps the Deployment's and Service's status in step with it.
   */
  async runGateway(namespace: string, gateway: string, timeoutMs = 60_000): Promise<GatewayPod> {
    const deadline = Date.now() + timeoutMs;
    let deployment: Obj;
    for (;;) {
      const found = await Promise.all([
        this.#read('apps/v1', 'Deployment', namespace, managedName(gateway)),
        this.#read('v1', 'ConfigMap', namespace, managedName(gateway)),
        this.#read('v1', 'Secret', namespace, xdsSecretName(gateway)),
      ]);
      if (found.every(Boolean)) {
        deployment = found[0];
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the operator did not create the fleet of Gateway ${namespace}/${gateway} within ${timeoutMs / 1000}s`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const volumes = await this.#volumeVersions(namespace, gateway);
    const pod = await startGatewayEnvoy({ kubeConfig: this.#kc, namespace, gateway });
    const tracked: Tracked = {
      namespace,
      gateway,
      pod,
      ready: false,
      template: JSON.stringify(deployment.spec.template),
      volumes,
      transition: timestamp(),
    };
    this.#pods.push(tracked);
    void pod.exited.then((code) => {
      tracked.exit = code;
      if (!this.#stopped) {
        this.#say(`[node] Envoy in pod ${namespace}/${pod.name} exited; the demo does not restart it`);
      }
    });
    await this.#sync(tracked);
    this.#timer ??= setInterval(() => void this.#tick(), 1000);
    return { namespace, gateway, pod, ready: tracked.ready };
  }

  async #tick(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      for (const t of this.#pods) await this.#sync(t);
    } catch (err) {
      if (!this.#stopped) this.#say(`[node] could not update status: ${(err as Error).message}`);
    } finally {
      this.#busy = false;
    }
  }

  /** One pass of kubelet + Deployment controller + load-balancer controller for one pod. */
  async #sync(t: Tracked): Promise<void> {
    const name = managedName(t.gateway);
    const podName = `${t.namespace}/${t.pod.name}`;
    const ready = t.exit === undefined && (await t.pod.ready());
    if (this.#stopped) return;
    if (ready !== t.ready) {
      t.ready = ready;
      t.transition = timestamp();
      this.#say(
        ready
          ? `[node] Envoy pod ${podName} is ready (GET /ready answers 200)`
          : `[node] Envoy pod ${podName} is not ready: Deployment ${t.namespace}/${name} now has 0 available replicas`,
      );
    }
    // kubelet refreshes ConfigMap and Secret volumes of a running pod when they change.
    if (t.exit === undefined) {
      const volumes = await this.#volumeVersions(t.namespace, t.gateway);
      if (volumes !== t.volumes) {
        t.volumes = volumes;
        await t.pod.syncVolumes();
      }
    }
    const deployment = await this.#read('apps/v1', 'Deployment', t.namespace, name);
    if (!deployment) return;
    const updated = JSON.stringify(deployment.spec.template) === t.template;
    if (!updated && !t.warnedTemplate) {
      t.warnedTemplate = true;
      this.#say(
        `[node] Deployment ${t.namespace}/${name} has a new pod template; the demo does not roll pods (restart npm start to run it)`,
      );
    }
    const status = {
      observedGeneration: deployment.metadata.generation,
      replicas: 1,
      updatedReplicas: updated ? 1 : 0,
      ...(ready ? { readyReplicas: 1, availableReplicas: 1 } : { unavailableReplicas: 1 }),
      conditions: [
        ready
          ? {
              type: 'Available',
              status: 'True',
              reason: 'MinimumReplicasAvailable',
              message: 'Deployment has minimum availability.',
            }
          : {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              message: 'Deployment does not have minimum availability.',
            },
      ],
    };
    const statusKey = JSON.stringify(status);
    if (statusKey !== t.lastStatus) {
      const conditions = status.conditions.map((c) => ({
        ...c,
        lastUpdateTime: timestamp(),
        lastTransitionTime: t.transition,
      }));
      await this.#apps.patchNamespacedDeploymentStatus(
        {
          name,
          namespace: t.namespace,
          body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, status: { ...status, conditions } },
          fieldManager: demoFieldManager,
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
      t.lastStatus = statusKey;
    }
    const service = await this.#read('v1', 'Service', t.namespace, name);
    if (service?.spec?.type === 'LoadBalancer' && t.lastIngress !== t.pod.address) {
      await this.#core.patchNamespacedServiceStatus(
        {
          name,
          namespace: t.namespace,
          body: {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name },
            status: { loadBalancer: { ingress: [{ ip: t.pod.address }] } },
          },
          fieldManager: demoFieldManager,
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
      t.lastIngress = t.pod.address;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await Promise.all(this.#pods.map((t) => t.pod.stop()));
  }
}
