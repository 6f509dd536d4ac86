// Small helpers for the real-Envoy suites: route and filter manifests, bounded request loops that count who answered, and the checks every suite ends with.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { EchoResponse } from '../harness/echo-backend.ts';
import { request, type TestRequest, type TestResponse } from '../harness/http-client.ts';
import type { EnvoyPod, Manifest } from './gateway-env.ts';
import { eventually } from './operator-helpers.ts';

export type { EchoResponse } from '../harness/echo-backend.ts';

// biome-ignore lint/suspicious/noExplicitAny: Gateway API specs are free-form in tests
type Spec = Record<string, any>;

export function httpRoute(namespace: string, name: string, spec: Spec): Manifest {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { namespace, name },
    spec,
  };
}

export function grpcRoute(namespace: string, name: string, spec: Spec): Manifest {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GRPCRoute',
    metadata: { namespace, name },
    spec,
  };
}

/**
 * A module delivered the way a team pushes one: a ConfigMap holding the bytes (`<name>-wasm`, key
 * `filter.wasm`) and a WasmFilter pinning them by sha256, with `spec` added to the WasmFilter's spec.
 */
export function wasmFilterManifests(namespace: string, name: string, bytes: Uint8Array, spec: Spec = {}): Manifest[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace, name: `${name}-wasm` },
      binaryData: { 'filter.wasm': Buffer.from(bytes).toString('base64') },
    },
    {
      apiVersion: 'legate.dev/v1alpha1',
      kind: 'WasmFilter',
      metadata: { namespace, name },
      spec: {
        source: {
          type: 'ConfigMap',
          configMap: {
            name: `${name}-wasm`,
            key: 'filter.wasm',
            sha256: createHash('sha256').update(bytes).digest('hex'),
          },
        },
        ...spec,
      },
    },
  ];
}

/** Runs `n` calls of `call` (at most `concurrency` at once) and counts the keys they return. */
export async function countBy(
  n: number,
  call: (i: number) => Promise<string>,
  concurrency = 8,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const key = await call(next++);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return counts;
}

/** A request through Envoy's HTTP listener for `gatewayPort`, with `host` as the Host header. */
export function via(envoy: EnvoyPod, gatewayPort: number) {
  return (host: string, path: string, options: TestRequest = {}): Promise<TestResponse> =>
    request(envoy.url(gatewayPort, path), { ...options, headers: { host, ...options.headers } });
}

/** Who answered: the echo backend's name, or `status <code>` when it was not a 200 from a backend. */
export function answeredBy(res: TestResponse): string {
  const name = res.status === 200 ? res.json<EchoResponse>()?.name : undefined;
  return name ?? `status ${res.status}`;
}

/**
 * Polls until `send()` gives a response `accept` takes: config reaches Envoy asynchronously after a
 * change in the API server. Returns that response.
 */
export function until(
  what: string,
  send: () => Promise<TestResponse>,
  accept: (res: TestResponse) => boolean,
  timeoutMs = 20_000,
): Promise<TestResponse> {
  let last = '';
  return eventually(
    what,
    async () => {
      const res = await send();
      last = `${res.status} ${res.body.slice(0, 300)}`;
      return accept(res) ? res : undefined;
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last response: ${last}`);
  });
}

/** Envoy's `runtime.deprecated_feature_use` is 0, with the deprecation lines of its log if not. */
export async function assertNoDeprecatedFeatures(envoy: EnvoyPod): Promise<void> {
  const stats = await envoy.stats();
  assert.equal(
    stats.get('runtime.deprecated_feature_use'),
    0,
    envoy
      .logs()
      .match(/.*deprecated.*/gi)
      ?.join('\n'),
  );
}

/** Envoy accepted everything it was sent: no rejected update on any xDS subscription. */
export async function assertNoRejectedConfig(envoy: EnvoyPod): Promise<void> {
  const stats = await envoy.stats();
  const rejected = [...stats].filter(([name, value]) => name.endsWith('.update_rejected') && value > 0);
  assert.deepEqual(
    rejected,
    [],
    envoy
      .logs()
      .match(/.*(rejected|NACK).*/gi)
      ?.join('\n'),
  );
}
