// The bootstrap's static listeners and clusters, and the SDS secrets it reads from files, checked by
// go-control-plane (test/tools/xds-validate): strict proto3 JSON, protoc-gen-validate rules, and
// snapshot consistency, i.e. Envoy's own rules, not only its schema.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { goTool } from '../../../test/harness/go-tools.ts';
import { buildBootstrap, buildSdsFiles, GlobalMaxDownstreamConnections } from './bootstrap.ts';

const typed = (type: string, objects: Record<string, unknown>[]) =>
  objects.map((o) => ({ '@type': `type.googleapis.com/${type}`, ...o }));

test("the bootstrap's static resources pass go-control-plane validation", async () => {
  const bin = await goTool('xds-validate');
  const b = buildBootstrap({
    namespace: 'team-a',
    gatewayName: 'web',
    xdsAddress: 'legate-xds.legate-system.svc:18000',
  });
  const statics = b.static_resources as { listeners: Record<string, unknown>[]; clusters: Record<string, unknown>[] };
  const sds = buildSdsFiles();
  const secrets = [
    ...(sds.certificate.resources as Record<string, unknown>[]),
    ...(sds.trustedCa.resources as Record<string, unknown>[]),
  ];
  const input = {
    gateways: [
      {
        gateway: 'team-a/web',
        resources: [
          ...typed('envoy.config.listener.v3.Listener', statics.listeners),
          ...typed('envoy.config.cluster.v3.Cluster', statics.clusters),
          ...secrets,
        ],
      },
    ],
  };
  const res = spawnSync(bin, [], { input: JSON.stringify(input), encoding: 'utf8' });
  assert.equal(res.status, 0, `xds-validate: ${res.stdout}${res.stderr}`);
  assert.deepEqual(JSON.parse(res.stdout), { ok: true, errors: [] });

  // And it does catch a broken value (a port out of range), so the pass above means something.
  const broken = structuredClone(input);
  const cluster = broken.gateways[0]?.resources.find((r) => (r as { name?: string }).name === 'legate_admin') as {
    load_assignment: {
      endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[] }[];
    };
  };
  const endpoint = cluster.load_assignment.endpoints[0]?.lb_endpoints[0]?.endpoint;
  assert.ok(endpoint);
  endpoint.address.socket_address.port_value = 70000;
  const bad = spawnSync(bin, [], { input: JSON.stringify(broken), encoding: 'utf8' });
  assert.equal(bad.status, 1, bad.stdout);
});

test('the whole bootstrap passes go-control-plane validation, with nothing deprecated in it', async () => {
  const bin = await goTool('xds-validate');
  const b = buildBootstrap({
    namespace: 'team-a',
    gatewayName: 'web',
    xdsAddress: 'legate-xds.legate-system.svc:18000',
  });
  const check = (bootstrap: Record<string, unknown>) =>
    spawnSync(bin, [], {
      input: JSON.stringify({
        gateways: [
          {
            gateway: 'team-a/web',
            resources: [{ '@type': 'type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap', ...bootstrap }],
          },
        ],
      }),
      encoding: 'utf8',
    });
  const res = check(b);
  assert.equal(res.status, 0, `xds-validate: ${res.stdout}${res.stderr}`);

  // The connection limit is the overload manager's resource monitor, not the deprecated runtime key
  // (which Envoy counts in runtime.deprecated_feature_use; xds-validate sees fields, not runtime keys).
  assert.doesNotMatch(JSON.stringify(b.layered_runtime), /global_downstream_max_connections/);
  assert.deepEqual(b.overload_manager, {
    resource_monitors: [
      {
        name: 'envoy.resource_monitors.global_downstream_max_connections',
        typed_config: {
          '@type':
            'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
          max_active_downstream_connections: GlobalMaxDownstreamConnections,
        },
      },
    ],
  });
  assert.equal(GlobalMaxDownstreamConnections, 50000);

  // Readiness waits for the operator's first LDS and CDS answers, however long they take.
  const dynamic = b.dynamic_resources as Record<string, { initial_fetch_timeout?: string }>;
  assert.equal(dynamic.lds_config?.initial_fetch_timeout, '0s');
  assert.equal(dynamic.cds_config?.initial_fetch_timeout, '0s');

  // And the validator does see a deprecated field in a bootstrap.
  const withDeprecated = structuredClone(b) as { admin: Record<string, unknown> };
  withDeprecated.admin.access_log_path = '/dev/null';
  const bad = check(withDeprecated);
  assert.equal(bad.status, 1, bad.stdout);
  assert.match(bad.stdout, /deprecated field envoy\.config\.bootstrap\.v3\.Admin\.access_log_path is set/);
});
