// The proxyless view (API listeners, clusters, endpoints) of every golden scenario must pass the
// resource validation of the real @grpc/grpc-js-xds client, which NACKs anything it does not support.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readInput } from '../cli/translate.ts';
import { TypeUrls } from '../envoy/protos.ts';
import type { EnvoyResource } from './index.ts';
import { translate } from './index.ts';

const require = createRequire(import.meta.url);
const xdsBuild = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'build', 'src');

interface ResourceType {
  decode(context: unknown, resource: { type_url: string; value: Buffer }): { name: string; error?: string };
}
type ResourceTypeClass = { get(): ResourceType };

function resourceType(file: string, exportName: string): ResourceType {
  const mod = require(path.join(xdsBuild, 'xds-resource-type', file)) as Record<string, ResourceTypeClass>;
  const cls = mod[exportName];
  if (!cls) throw new Error(`${file} has no ${exportName}`);
  return cls.get();
}

// Registers the HTTP filters (router) and the rest of the client, as a gRPC application does.
(require('@grpc/grpc-js-xds') as { register(): void }).register();
const context = {
  server: { serverUri: 'x', channelCredentials: {}, serverFeatures: [] },
  bootstrap: { certificateProviders: {} },
};

const checks: [
  string,
  ResourceType,
  (t: ReturnType<typeof translate>['gateways'] extends Map<string, infer G> ? G : never) => EnvoyResource[],
][] = [
  [TypeUrls.listener, resourceType('listener-resource-type.js', 'ListenerResourceType'), (t) => t.proxylessListeners],
  [
    TypeUrls.cluster,
    resourceType('cluster-resource-type.js', 'ClusterResourceType'),
    (t) => t.resources[TypeUrls.cluster] ?? [],
  ],
  [
    TypeUrls.endpoint,
    resourceType('endpoint-resource-type.js', 'EndpointResourceType'),
    (t) => t.resources[TypeUrls.endpoint] ?? [],
  ],
];

const scenarios = path.join(import.meta.dirname, 'testdata', 'scenarios');

describe('grpc-js-xds accepts the proxyless view', () => {
  for (const file of readdirSync(scenarios)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    it(file, () => {
      const result = translate(readInput([path.join(scenarios, file)], () => ''));
      let checked = 0;
      for (const t of result.gateways.values()) {
        for (const [url, type, pick] of checks) {
          for (const r of pick(t)) {
            const decoded = type.decode(context, { type_url: url, value: Buffer.from(r.bytes) });
            assert.equal(decoded.error, undefined, `${t.key} ${r.name}: ${decoded.error}`);
            assert.equal(decoded.name, r.name);
            checked++;
          }
        }
      }
      assert.ok(checked > 0 || file === 'bad-input.yaml');
    });
  }
});
