// The live index must be a drop-in for indexInput: for every golden scenario, feeding its objects as
// events in a scrambled order (with detours: objects added, moved and deleted again) must translate
// to exactly the bytes a fresh snapshot gives.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readInput } from '../cli/translate.ts';
import { type GatewayTranslation, indexInput, type TranslationInput, translate, translateGateway } from './index.ts';
import { LiveIndex } from './live-index.ts';

const dir = path.join(import.meta.dirname, 'testdata', 'scenarios');
const scenarios = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

type Obj = { metadata: { name: string; namespace?: string } };
const kinds: [keyof TranslationInput, string][] = [
  ['gatewayClasses', 'GatewayClass'],
  ['gateways', 'Gateway'],
  ['httpRoutes', 'HTTPRoute'],
  ['grpcRoutes', 'GRPCRoute'],
  ['referenceGrants', 'ReferenceGrant'],
  ['services', 'Service'],
  ['endpointSlices', 'EndpointSlice'],
  ['secrets', 'Secret'],
];

function events(input: TranslationInput): { kind: string; object: Obj }[] {
  return kinds.flatMap(([field, kind]) => ((input[field] ?? []) as Obj[]).map((object) => ({ kind, object })));
}

/** A deterministic shuffle (the test must fail the same way every time it fails). */
function scramble<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function bytesOf(t: GatewayTranslation | undefined) {
  if (!t) return undefined;
  const resources = Object.entries(t.resources).map(([type, list]) => [
    type,
    (list ?? []).map((r) => [r.name, Buffer.from(r.bytes).toString('base64')]),
  ]);
  // Route status comes out in route order, which only a snapshot's array order decides: compare as a set.
  const routes = [...t.status.routes].sort((a, b) =>
    JSON.stringify([a.kind, a.route, a.parentRef]) < JSON.stringify([b.kind, b.route, b.parentRef]) ? -1 : 1,
  );
  return { resources, status: { ...t.status, routes }, proxyless: t.proxylessListeners.map((r) => r.name) };
}

describe('LiveIndex', () => {
  for (const file of scenarios) {
    it(`translates ${file} like a fresh snapshot, whatever the event order`, () => {
      const input = readInput([path.join(dir, file)], () => '');
      const expected = translate(input);
      assert.ok(expected.gateways.size > 0, 'the scenario has Gateways');
      for (const seed of [1, 2, 3]) {
        const live = new LiveIndex();
        const all = events(input);
        // Detours: a third of the objects first arrive renamed (and are deleted again), and every
        // route first arrives without parents, then moves to its real ones.
        for (const { kind, object } of scramble(all, seed)) {
          if ((object.metadata.name.length + seed) % 3 === 0) {
            const ghost = { ...object, metadata: { ...object.metadata, name: `${object.metadata.name}-ghost` } };
            live.apply(kind, 'upsert', ghost);
            live.apply(kind, 'delete', ghost);
          }
          if (kind.endsWith('Route')) live.apply(kind, 'upsert', { ...object, spec: { parentRefs: [] } } as Obj);
          live.apply(kind, 'upsert', object);
        }
        const view = live.view();
        for (const [key, want] of expected.gateways) {
          assert.deepEqual(bytesOf(translateGateway(view, key)), bytesOf(want), `${file} ${key} seed ${seed}`);
        }
      }
    });
  }

  it('forgets what was deleted', () => {
    const input = readInput([path.join(dir, scenarios[0] as string)], () => '');
    const live = new LiveIndex();
    for (const { kind, object } of events(input)) live.apply(kind, 'upsert', object);
    for (const { kind, object } of events(input)) live.apply(kind, 'delete', object);
    const view = live.view();
    for (const map of [view.gateways, view.routesByGateway, view.services, view.endpointSlices, view.grants]) {
      assert.equal(map.size, 0);
    }
    assert.deepEqual(indexInput({}).routesByGateway.size, 0);
  });
});
