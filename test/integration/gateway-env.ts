// Everything a real-Envoy suite needs, the way a team would have it: the real API server, the operator
// process with its xDS server reachable from pods, a GatewayClass for this suite alone, echo backends
// in a test host behind Services and EndpointSlices, and Envoy pods run from the fleet the operator
// applied (test/harness/envoy.ts). Changes go through the API server only.
import type { KubernetesObject } from '@kubernetes/client-node';
import { managedName, xdsSecretName } from '../../operator/src/infra/names.ts';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { type EnvoyPod, operatorXdsArgs, startGatewayEnvoy } from '../harness/envoy.ts';
import { type Backend, startTestHost, type TestHost } from '../harness/netns.ts';
import {
  eventually,
  Kube,
  type OperatorProcess,
  startOperator,
  uniqueSuffix,
  type XdsCaFolder,
  xdsCaFolder,
} from './operator-helpers.ts';

export type { EnvoyPod } from '../harness/envoy.ts';
export type { Backend } from '../harness/netns.ts';

// biome-ignore lint/suspicious/noExplicitAny: test manifests are free-form
export type Manifest = KubernetesObject & Record<string, any>;

export interface Listener {
  name: string;
  port: number;
  protocol: 'HTTP' | 'HTTPS' | 'TLS' | 'TCP';
  hostname?: string;
  // biome-ignore lint/suspicious/noExplicitAny: Gateway API listener fields
  [field: string]: any;
}

export interface GatewayEnv {
  readonly cluster: TestCluster;
  readonly kube: Kube;
  /** The suite's namespace (the operator watches it, or every namespace with `allNamespaces`). */
  readonly namespace: string;
  readonly className: string;
  readonly controllerName: string;
  readonly operator: OperatorProcess;
  /** The test host the echo backends run in. */
  readonly backends: TestHost;
  apply<T extends KubernetesObject>(obj: T): Promise<T>;
  delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<void>;
  createNamespace(name: string): Promise<void>;
  /** A Gateway of the suite's class. */
  gateway(name: string, listeners: Listener[], namespace?: string): Promise<void>;
  /**
   * A Service `name` (port 80, or `port`) whose endpoints are `replicas` new echo backends, each
   * answering with its own name (`<name>-0`, `<name>-1`, …).
   */
  echoService(name: string, options?: { replicas?: number; port?: number; namespace?: string }): Promise<Backend[]>;
  /**
   * A Service `name` with one gRPC port (`appProtocol: kubernetes.io/h2c`, port 50051 or `port`) whose
   * endpoints are `replicas` new gRPC backends (test/harness/grpc-backend.ts) named `<name>-<i>`.
   */
  grpcService(name: string, options?: { replicas?: number; port?: number; namespace?: string }): Promise<Backend[]>;
  /** Starts one Envoy pod of the Gateway once the operator has applied its fleet, and waits until it is ready. */
  envoy(gateway: string, namespace?: string): Promise<EnvoyPod>;
  /** Stops the operator process (SIGTERM) and starts a new one with the same settings. */
  restartOperator(): Promise<void>;
  stop(): Promise<void>;
}

export interface GatewayEnvOptions {
  /** Watch every namespace (for suites with more than one team); only this suite's GatewayClass is served. */
  allNamespaces?: boolean;
  operatorArgs?: string[];
}

export async function startGatewayEnv(options: GatewayEnvOptions = {}): Promise<GatewayEnv> {
  const suffix = uniqueSuffix();
  const namespace = `envoy-${suffix}`;
  const className = `envoy-${suffix}`;
  const controllerName = `legate.dev/envoy-${suffix}`;
  const cluster = await testCluster();
  const kube = new Kube(cluster.kubeConfig());
  const backends = startTestHost();
  const xdsCa: XdsCaFolder = await xdsCaFolder();
  const pods: EnvoyPod[] = [];
  await kube.createNamespace(namespace);
  await kube.apply({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GatewayClass',
    metadata: { name: className },
    spec: { controllerName },
  } as KubernetesObject);
  const xdsArgs = await operatorXdsArgs();
  const launch = () =>
    startOperator({
      kubeconfigPath: cluster.kubeconfigPath,
      namespace,
      controllerName,
      leaseName: `envoy-${suffix}`,
      identity: `envoy-${suffix}`,
      allNamespaces: options.allNamespaces,
      extraArgs: ['--leader-elect', 'false', '--xds-ca-dir', xdsCa.dir, ...xdsArgs, ...(options.operatorArgs ?? [])],
    });
  let operator = launch();
  await waitForXds(operator);

  /** A Service whose endpoints are new backends in the test host, one EndpointSlice each. */
  const service = async (
    name: string,
    portName: string,
    port: number,
    o: { replicas?: number; namespace?: string },
    start: (name: string) => Promise<Backend>,
    appProtocol?: string,
  ): Promise<Backend[]> => {
    const ns = o.namespace ?? namespace;
    const started: Backend[] = [];
    for (let i = 0; i < (o.replicas ?? 1); i++) started.push(await start(`${name}-${i}`));
    await kube.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: ns, name },
      spec: { ports: [{ name: portName, port, protocol: 'TCP', ...(appProtocol ? { appProtocol } : {}) }] },
    } as KubernetesObject);
    for (const b of started) {
      await kube.apply({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { namespace: ns, name: b.name, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        ports: [{ name: portName, port: b.port, protocol: 'TCP' }],
        endpoints: [{ addresses: [backends.address], conditions: { ready: true } }],
      } as KubernetesObject);
    }
    return started;
  };

  const env: GatewayEnv = {
    cluster,
    kube,
    namespace,
    className,
    controllerName,
    get operator() {
      return operator;
    },
    backends,
    apply: (obj) => kube.apply(obj),
    async delete(apiVersion, kind, name, ns = namespace) {
      try {
        await kube.objects.delete({ apiVersion, kind, metadata: { name, namespace: ns } });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
    },
    createNamespace: (name) => kube.createNamespace(name),
    async gateway(name, listeners, ns = namespace) {
      await kube.apply({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { namespace: ns, name },
        spec: { gatewayClassName: className, listeners },
      } as KubernetesObject);
    },
    echoService: (name, o = {}) => service(name, 'http', o.port ?? 80, o, (n) => backends.startEchoBackend(n)),
    grpcService: (name, o = {}) =>
      service(name, 'grpc', o.port ?? 50051, o, (n) => backends.startGrpcBackend(n), 'kubernetes.io/h2c'),
    async envoy(gateway, ns = namespace) {
      // The operator applies the Deployment, ConfigMap and xDS Secret; the pod needs all three.
      await eventually(
        `the fleet of ${ns}/${gateway}`,
        async () => {
          const found = await Promise.all([
            kube.get('apps/v1', 'Deployment', ns, managedName(gateway)),
            kube.get('v1', 'ConfigMap', ns, managedName(gateway)),
            kube.get('v1', 'Secret', ns, xdsSecretName(gateway)),
          ]);
          return found.every(Boolean) || undefined;
        },
        30_000,
      );
      const pod = await startGatewayEnvoy({ kubeConfig: cluster.kubeConfig(), namespace: ns, gateway });
      pods.push(pod);
      await pod.waitReady();
      return pod;
    },
    async restartOperator() {
      await operator.stop();
      operator = launch();
      await waitForXds(operator);
    },
    async stop() {
      for (const pod of pods) await pod.stop();
      await operator.stop();
      backends.stop();
      xdsCa.remove();
      await cluster.stop();
    },
  };
  return env;
}

async function waitForXds(operator: OperatorProcess): Promise<void> {
  await eventually(
    'the operator xDS server to listen',
    async () => operator.logs.find((l) => l.msg === 'xds server listening'),
    30_000,
  );
}
