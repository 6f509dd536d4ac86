// The example backends of the local demo: one small server per Service in examples/, each in its own
// test host (a network namespace on the demo's bridge, like a pod on a node), listening on the
// Service's targetPort. Services with `appProtocol: kubernetes.io/h2c` (or grpc) get a gRPC server
// (test/harness/grpc-backend.ts), the others an HTTP echo server (test/harness/echo-backend.ts) that
// answers with JSON naming the Service. With no EndpointSlice controller, the demo writes each
// Service's EndpointSlice itself, pointing at the backend's address (the API server refuses loopback
// addresses in EndpointSlices, hence the namespaces).
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { applyManifests } from '../../test/harness/crds.ts';
import { startTestHost, type TestHost } from '../../test/harness/netns.ts';
import { demoFieldManager } from './node.ts';

export interface ExampleBackend {
  namespace: string;
  /** The Service it stands for; echo backends answer with this name. */
  service: string;
  kind: 'echo' | 'grpc';
  address: string;
  port: number;
}

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  appProtocol?: string;
}

const h2c = new Set(['kubernetes.io/h2c', 'h2c', 'grpc']);

export async function startExampleBackends(
  kc: KubeConfig,
  manifests: KubernetesObject[],
): Promise<{ backends: ExampleBackend[]; stop(): void }> {
  const hosts: TestHost[] = [];
  const backends: ExampleBackend[] = [];
  const stop = () => {
    for (const h of hosts) h.stop();
  };
  try {
    const services = manifests.filter((m) => m.kind === 'Service') as (KubernetesObject & {
      spec: { ports: ServicePort[] };
    })[];
    const slices: KubernetesObject[] = [];
    await Promise.all(
      services.map(async (svc) => {
        const namespace = svc.metadata?.namespace as string;
        const service = svc.metadata?.name as string;
        const [first] = svc.spec.ports;
        if (!first || svc.spec.ports.length > 1) {
          throw new Error(`examples: Service ${namespace}/${service}: the demo runs backends for one-port Services`);
        }
        const port = typeof first.targetPort === 'number' ? first.targetPort : first.port;
        const kind = first.appProtocol && h2c.has(first.appProtocol) ? 'grpc' : 'echo';
        const host = startTestHost();
        hosts.push(host);
        await (kind === 'grpc' ? host.startGrpcBackend(service, port) : host.startEchoBackend(service, port));
        backends.push({ namespace, service, kind, address: host.address, port });
        slices.push({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            namespace,
            name: `${service}-demo`,
            labels: {
              'kubernetes.io/service-name': service,
              'endpointslice.kubernetes.io/managed-by': 'legate-demo',
            },
          },
          addressType: 'IPv4',
          ports: [
            {
              name: first.name ?? '',
              port,
              protocol: 'TCP',
              ...(first.appProtocol ? { appProtocol: first.appProtocol } : {}),
            },
          ],
          endpoints: [{ addresses: [host.address], conditions: { ready: true, serving: true, terminating: false } }],
        } as KubernetesObject);
      }),
    );
    await applyManifests(kc, slices, demoFieldManager);
    backends.sort((a, b) => `${a.namespace}/${a.service}`.localeCompare(`${b.namespace}/${b.service}`));
    return { backends, stop };
  } catch (err) {
    stop();
    throw err;
  }
}
