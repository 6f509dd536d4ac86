// The ProxyConfig CRD (crds/proxyconfig.yaml) as the real API server enforces it: its structural
// schema and CEL rules reject nonsense with a message a person can act on, before any operator sees it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { Kube, uniqueSuffix } from './operator-helpers.ts';

describe('ProxyConfig CRD validation', () => {
  const ns = `op-crd-${uniqueSuffix()}`;
  let cluster: TestCluster;
  let custom: CustomObjectsApi;

  before(async () => {
    cluster = await testCluster();
    await new Kube(cluster.kubeConfig()).createNamespace(ns);
    custom = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
  });
  after(async () => {
    await new Kube(cluster.kubeConfig()).core.deleteNamespace({ name: ns }).catch(() => {});
    await cluster?.stop();
  });

  /** Creates (server-side dry run) and returns the API server's error message, or '' when accepted. */
  async function create(spec: unknown): Promise<string> {
    try {
      await custom.createNamespacedCustomObject({
        group: 'legate.dev',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'proxyconfigs',
        dryRun: 'All',
        body: { apiVersion: 'legate.dev/v1alpha1', kind: 'ProxyConfig', metadata: { name: 'p' }, spec },
      });
      return '';
    } catch (err) {
      const body = (err as { body?: string }).body;
      return body ? (JSON.parse(body) as { message: string }).message : String(err);
    }
  }

  it('accepts a full, sensible ProxyConfig', async () => {
    assert.equal(
      await create({
        envoy: { image: 'envoyproxy/envoy:v1.40.0', logLevel: 'debug' },
        replicas: 3,
        autoscaling: {
          minReplicas: 2,
          maxReplicas: 8,
          targetCPUUtilizationPercentage: 70,
          behavior: { scaleDown: { stabilizationWindowSeconds: 60 } },
        },
        resources: { requests: { cpu: '100m', memory: 128 } },
        pod: { labels: { a: 'b' }, tolerations: [{ key: 'k', operator: 'Exists' }], affinity: { nodeAffinity: {} } },
        podDisruptionBudget: { maxUnavailable: '25%' },
        service: { type: 'LoadBalancer', loadBalancerClass: 'x', loadBalancerSourceRanges: ['10.0.0.0/8'] },
        shutdown: { drainSeconds: 30 },
      }),
      '',
    );
  });

  const rejected: [string, unknown, RegExp][] = [
    [
      'min > max',
      { autoscaling: { minReplicas: 5, maxReplicas: 2, targetCPUUtilizationPercentage: 50 } },
      /minReplicas must not be greater than autoscaling.maxReplicas/,
    ],
    ['negative replicas', { replicas: -1 }, /spec.replicas: Invalid value: -1/],
    [
      'autoscaling without a target',
      { autoscaling: { maxReplicas: 3 } },
      /needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage/,
    ],
    ['both PDB fields', { podDisruptionBudget: { minAvailable: 1, maxUnavailable: 1 } }, /not both/],
    ['an unknown Service type', { service: { type: 'External' } }, /Unsupported value: "External"/],
    [
      'loadBalancerClass on a NodePort',
      { service: { type: 'NodePort', loadBalancerClass: 'x' } },
      /loadBalancerClass needs service.type LoadBalancer/,
    ],
    ['a source range that is no CIDR', { service: { loadBalancerSourceRanges: ['everyone'] } }, /must be CIDRs/],
    ['an unknown log level', { envoy: { logLevel: 'loud' } }, /Unsupported value: "loud"/],
  ];
  for (const [what, spec, message] of rejected) {
    it(`rejects ${what}`, async () => {
      assert.match(await create(spec), message);
    });
  }
});
