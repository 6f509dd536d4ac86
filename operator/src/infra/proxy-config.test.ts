import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtInDefaults, effectiveProxyConfig, mergeProxyConfigSpecs } from './proxy-config.ts';

test('the Gateway ProxyConfig overrides the class one field by field, maps merging key by key', () => {
  const merged = mergeProxyConfigSpecs(
    {
      envoy: { image: 'envoy:class', logLevel: 'warning' },
      service: { type: 'NodePort', annotations: { a: 'class', b: 'class' } },
      podDisruptionBudget: { minAvailable: 1 },
    },
    {
      envoy: { logLevel: 'debug' },
      service: { annotations: { b: 'gw' } },
      podDisruptionBudget: { maxUnavailable: '50%' },
    },
  );
  assert.deepEqual(merged.envoy, { image: 'envoy:class', logLevel: 'debug' });
  assert.deepEqual(merged.service, { type: 'NodePort', annotations: { a: 'class', b: 'gw' } });
  // A PDB is taken whole: mixing minAvailable from one layer with maxUnavailable from another is invalid.
  assert.deepEqual(merged.podDisruptionBudget, { maxUnavailable: '50%' });
});

test('built-in defaults fill what neither layer sets', () => {
  const r = effectiveProxyConfig(undefined, undefined);
  assert.ok(r.ok);
  assert.equal(r.config.image, builtInDefaults.envoy.image);
  assert.equal(r.config.replicas, 2);
  assert.equal(r.config.autoscaling, undefined);
  assert.equal(r.config.service.type, 'LoadBalancer');
  assert.deepEqual(r.config.podDisruptionBudget, { maxUnavailable: 1 });
  assert.equal(r.config.terminationGracePeriodSeconds, r.config.drainSeconds + 5);
});

test('autoscaling leaves the replica count to the HPA', () => {
  const r = effectiveProxyConfig(
    { replicas: 3 },
    { autoscaling: { minReplicas: 2, maxReplicas: 8, targetCPUUtilizationPercentage: 70 } },
  );
  assert.ok(r.ok);
  assert.equal(r.config.replicas, undefined);
  assert.equal(r.config.autoscaling?.minReplicas, 2);
  assert.equal(r.config.autoscaling?.maxReplicas, 8);
});

test('bounds that are each valid but impossible together are reported, not applied', () => {
  const r = effectiveProxyConfig(
    { autoscaling: { minReplicas: 5, maxReplicas: 10, targetCPUUtilizationPercentage: 80 } },
    { autoscaling: { maxReplicas: 3 } },
  );
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.problems.some((p) => p.includes('minReplicas (5) is greater than autoscaling.maxReplicas (3)')));
});

test('autoscaling without any target is reported', () => {
  const r = effectiveProxyConfig({ autoscaling: { minReplicas: 1, maxReplicas: 2 } });
  assert.ok(!r.ok && r.problems[0]?.includes('targetCPUUtilizationPercentage'));
});
