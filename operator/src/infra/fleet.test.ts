import assert from 'node:assert/strict';
import { test } from 'node:test';
import { strictEncode } from '../envoy/strict.ts';
import type { Gateway } from '../k8s/gateway-api.ts';
import { BootstrapPaths } from './bootstrap.ts';
import { buildFleet } from './fleet.ts';
import { managedName } from './names.ts';
import { effectiveProxyConfig, type ProxyConfigSpec } from './proxy-config.ts';

const gateway: Gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'web', namespace: 'team-a', uid: 'uid-1' },
  spec: {
    gatewayClassName: 'legate',
    listeners: [
      { name: 'http', port: 80, protocol: 'HTTP' },
      { name: 'https-a', port: 443, protocol: 'HTTPS', hostname: 'a.example.com' },
      { name: 'https-b', port: 443, protocol: 'HTTPS', hostname: 'b.example.com' },
      { name: 'bad', port: 19001, protocol: 'HTTP' },
    ],
    infrastructure: { labels: { team: 'a', 'app.kubernetes.io/name': 'hijack' }, annotations: { owner: 'team-a' } },
  },
};

function fleetFor(spec: ProxyConfigSpec = {}) {
  const r = effectiveProxyConfig(undefined, spec);
  assert.ok(r.ok);
  return buildFleet(gateway, r.config, { xdsAddress: 'legate-xds.legate-system.svc:18000' });
}

test('every object is named legate-<gateway>, labelled, and owned by the Gateway', () => {
  const fleet = fleetFor({ autoscaling: { maxReplicas: 4, targetCPUUtilizationPercentage: 60 } });
  for (const obj of Object.values(fleet)) {
    assert.ok(obj);
    assert.equal(obj.metadata.name, 'legate-web');
    assert.equal(obj.metadata.namespace, 'team-a');
    assert.equal(obj.metadata.labels['app.kubernetes.io/managed-by'], 'legate');
    assert.equal(obj.metadata.labels['app.kubernetes.io/name'], 'envoy', 'infrastructure labels cannot override ours');
    assert.equal(obj.metadata.labels['gateway.networking.k8s.io/gateway-name'], 'web');
    assert.equal(obj.metadata.labels.team, 'a');
    assert.equal(obj.metadata.annotations?.owner, 'team-a');
    assert.deepEqual(obj.metadata.ownerReferences, [
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'web', uid: 'uid-1', controller: true },
    ]);
  }
});

test('long Gateway names are truncated with a hash and stay distinct', () => {
  const a = managedName('x'.repeat(80));
  const b = managedName(`${'x'.repeat(79)}y`);
  assert.ok(a.length <= 63 && b.length <= 63);
  assert.notEqual(a, b);
});

test('the Service exposes each listener port once, mapped to the unprivileged Envoy port', () => {
  const { service } = fleetFor({
    service: { type: 'NodePort', externalTrafficPolicy: 'Local', loadBalancerClass: 'x' },
  });
  assert.ok(service);
  const spec = service.spec as Record<string, unknown>;
  assert.equal(spec.type, 'NodePort');
  assert.equal(spec.externalTrafficPolicy, 'Local');
  assert.equal(spec.loadBalancerClass, undefined, 'loadBalancerClass is only valid for LoadBalancer');
  assert.deepEqual(spec.ports, [
    { name: 'tcp-80', protocol: 'TCP', port: 80, targetPort: 10080 },
    { name: 'tcp-443', protocol: 'TCP', port: 443, targetPort: 10443 },
  ]);
});

test('a Gateway without one valid listener gets no Service (a Service needs a port)', () => {
  const r = effectiveProxyConfig();
  assert.ok(r.ok);
  const clash: Gateway = {
    ...gateway,
    spec: {
      gatewayClassName: 'legate',
      listeners: [
        { name: 'a', port: 8443, protocol: 'HTTP' },
        { name: 'b', port: 8443, protocol: 'HTTPS' },
      ],
    },
  };
  assert.equal(buildFleet(clash, r.config, { xdsAddress: 'x.svc:1' }).service, undefined);
});

test('the HPA carries the ProxyConfig bounds and targets, and the Deployment leaves replicas to it', () => {
  const behavior = { scaleDown: { stabilizationWindowSeconds: 300 } };
  const { hpa, deployment } = fleetFor({
    replicas: 5,
    autoscaling: {
      minReplicas: 2,
      maxReplicas: 10,
      targetCPUUtilizationPercentage: 70,
      targetMemoryUtilizationPercentage: 80,
      behavior,
    },
  });
  assert.ok(hpa);
  assert.deepEqual(hpa.spec, {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'legate-web' },
    minReplicas: 2,
    maxReplicas: 10,
    metrics: [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
    ],
    behavior,
  });
  assert.equal((deployment.spec as Record<string, unknown>).replicas, undefined);
  assert.equal(fleetFor({ replicas: 5 }).hpa, undefined);
  assert.equal((fleetFor({ replicas: 5 }).deployment.spec as Record<string, unknown>).replicas, 5);
});

test('the Deployment runs Envoy hardened, probed, draining on shutdown and spread across nodes', () => {
  const { deployment } = fleetFor({ shutdown: { drainSeconds: 30 }, envoy: { logLevel: 'debug' } });
  // biome-ignore lint/suspicious/noExplicitAny: walking a manifest in a test
  const pod = (deployment.spec as any).template.spec;
  const envoy = pod.containers[0];
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(envoy.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(envoy.securityContext.capabilities, { drop: ['ALL'] });
  assert.equal(envoy.readinessProbe.httpGet.path, '/ready');
  assert.equal(pod.terminationGracePeriodSeconds, 35);
  assert.match(envoy.lifecycle.preStop.exec.command[2], /drain_listeners\?graceful.*sleep 30/);
  const args: string[] = envoy.args;
  assert.equal(args[args.indexOf('--drain-time-s') + 1], '30');
  assert.equal(args[args.indexOf('--service-node') + 1], '$(POD_NAME)');
  assert.equal(args[args.indexOf('--service-cluster') + 1], 'team-a/web');
  assert.equal(args[args.indexOf('--log-level') + 1], 'debug');
  assert.equal(pod.topologySpreadConstraints[0].topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(
    envoy.ports.map((p: { containerPort: number }) => p.containerPort),
    [10080, 10443, 19001, 19002],
  );
  assert.equal(pod.volumes[1].secret.secretName, 'legate-web-xds');
});

test('a changed bootstrap changes the pod template, so pods roll', () => {
  const hashOf = (address: string) => {
    const r = effectiveProxyConfig();
    assert.ok(r.ok);
    // biome-ignore lint/suspicious/noExplicitAny: walking a manifest in a test
    return (buildFleet(gateway, r.config, { xdsAddress: address }).deployment.spec as any).template.metadata
      .annotations['legate.dev/bootstrap-hash'];
  };
  assert.notEqual(hashOf('a.svc:18000'), hashOf('b.svc:18000'));
  assert.equal(hashOf('a.svc:18000'), hashOf('a.svc:18000'));
});

test("the bootstrap and SDS files are valid against Envoy's schema", () => {
  const data = fleetFor().configMap.data as Record<string, string>;
  const bootstrap = JSON.parse(data[BootstrapPaths.bootstrapKey] as string);
  assert.ok(strictEncode('envoy.config.bootstrap.v3.Bootstrap', bootstrap).length > 0);
  assert.equal(bootstrap.node.cluster, 'team-a/web');
  assert.equal(bootstrap.admin.address.socket_address.address, '127.0.0.1');
  const xds = bootstrap.static_resources.clusters[0];
  assert.equal(xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 18000);
  assert.equal(xds.transport_socket.typed_config.sni, 'legate-xds.legate-system.svc');
  for (const key of [BootstrapPaths.sdsCertificateKey, BootstrapPaths.sdsTrustedCaKey]) {
    strictEncode('envoy.service.discovery.v3.DiscoveryResponse', JSON.parse(data[key] as string));
  }
  assert.throws(
    () => strictEncode('envoy.config.bootstrap.v3.Bootstrap', { ...bootstrap, admin: { adress: {} } }),
    /adress/,
  );
});
