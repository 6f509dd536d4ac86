// The Envoy API message types, loaded once from the .proto files that ship inside @grpc/grpc-js-xds
// (`@envoyproxy/protos` is not on the npm registry). Everything that encodes an Envoy resource goes
// through this root, so a resource is always checked against the real schema.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const xdsDeps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));

/** Folders searched for imports, in order (the same layout protoc would get with -I). */
export const protoIncludeDirs: readonly string[] = [
  path.join(xdsDeps, 'envoy-api'),
  path.join(xdsDeps, 'xds'),
  path.join(xdsDeps, 'googleapis'),
  path.join(xdsDeps, 'protoc-gen-validate'),
  protobufjsDir,
];

/** The .proto files whose messages Legate renders or serves; their imports come along. */
export const envoyProtoFiles: readonly string[] = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/core/v3/extension.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/http/wasm/v3/wasm.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/wasm/v3/wasm.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.proto',
  'envoy/config/rbac/v3/rbac.proto',
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'google/protobuf/wrappers.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/any.proto',
];

function resolveImport(origin: string, target: string): string {
  if (path.isAbsolute(target)) return target;
  for (const dir of protoIncludeDirs) {
    const candidate = path.join(dir, target);
    if (existsSync(candidate)) return candidate;
  }
  // Unresolved: protobufjs falls back to its bundled google/protobuf/* common types.
  return path.join(path.dirname(origin), target);
}

/**
 * Fields Envoy 1.40 has that the protos vendored in @grpc/grpc-js-xds (its latest release, 1.14.1)
 * predate, added to the loaded schema with Envoy's own numbers and enum values (from
 * api/envoy/extensions/wasm/v3/wasm.proto; go-control-plane envoy v1.40.0 agrees). Each entry is
 * needed because the older field it replaces is deprecated in Envoy 1.40. Remove an entry when the
 * vendored protos have it: adding then throws a duplicate-name error, so that cannot go unnoticed.
 */
function addNewerFields(root: protobuf.Root): void {
  const wasm = root.lookup('envoy.extensions.wasm.v3') as protobuf.Namespace;
  // PluginConfig.failure_policy replaces the deprecated fail_open.
  wasm.add(new protobuf.Enum('FailurePolicy', { UNSPECIFIED: 0, FAIL_RELOAD: 1, FAIL_CLOSED: 2, FAIL_OPEN: 3 }));
  root
    .lookupType('envoy.extensions.wasm.v3.PluginConfig')
    .add(new protobuf.Field('failurePolicy', 7, 'envoy.extensions.wasm.v3.FailurePolicy'));
}

let cached: protobuf.Root | undefined;

/** The loaded and resolved Envoy schema (loaded on first use, about 1 s). */
export function envoyRoot(): protobuf.Root {
  if (cached) return cached;
  const root = new protobuf.Root();
  root.resolvePath = resolveImport;
  root.loadSync(
    envoyProtoFiles.map((f) => resolveImport('', f)),
    { keepCase: false, alternateCommentMode: false },
  );
  addNewerFields(root);
  root.resolveAll();
  cached = root;
  return root;
}

/** The message type for a fully qualified name such as `envoy.config.listener.v3.Listener`. */
export function envoyType(fullName: string): protobuf.Type {
  return envoyRoot().lookupType(fullName);
}

/** `type.googleapis.com/<name>`, the type URL xDS and `Any` use. */
export function typeUrl(fullName: string): string {
  return `type.googleapis.com/${fullName}`;
}

/** The Envoy xDS resource type URLs Legate serves. */
export const TypeUrls = {
  listener: typeUrl('envoy.config.listener.v3.Listener'),
  route: typeUrl('envoy.config.route.v3.RouteConfiguration'),
  cluster: typeUrl('envoy.config.cluster.v3.Cluster'),
  endpoint: typeUrl('envoy.config.endpoint.v3.ClusterLoadAssignment'),
  secret: typeUrl('envoy.extensions.transport_sockets.tls.v3.Secret'),
  extensionConfig: typeUrl('envoy.config.core.v3.TypedExtensionConfig'),
} as const;
