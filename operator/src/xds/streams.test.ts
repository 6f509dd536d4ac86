// The protocol state machines against a real SnapshotCache, without gRPC.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypeUrls } from '../envoy/protos.ts';
import { DeltaStream } from './delta-stream.ts';
import { SnapshotCache } from './snapshot-cache.ts';
import { SotwStream } from './sotw-stream.ts';

const gw = 'ns/gw';
const r = (name: string, content: string) => ({ name, bytes: new TextEncoder().encode(content) });

function setup() {
  const cache = new SnapshotCache();
  const snapshot = () => cache.get(gw);
  const ready = () => cache.synced;
  return { cache, sotw: new SotwStream(snapshot, ready, 0), delta: new DeltaStream(snapshot, ready, 0) };
}

describe('SnapshotCache', () => {
  it('reports only the types whose content changed, in warming order', () => {
    const { cache } = setup();
    const first = cache.set(gw, { [TypeUrls.route]: [r('r', '1')], [TypeUrls.cluster]: [r('c', '1')] });
    assert.equal(first.typeUrls.length, 6, 'a new Gateway changes every type');
    const second = cache.set(gw, { [TypeUrls.route]: [r('r', '2')], [TypeUrls.cluster]: [r('c', '1')] });
    assert.deepEqual(second.typeUrls, [TypeUrls.route]);
    const third = cache.set(gw, { [TypeUrls.route]: [r('r', '3')], [TypeUrls.endpoint]: [r('c', 'e')] });
    assert.deepEqual(third.typeUrls, [TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.route]);
  });

  it('gives the same versions for the same content, whatever the order resources came in', () => {
    const a = new SnapshotCache();
    const b = new SnapshotCache();
    a.set(gw, { [TypeUrls.cluster]: [r('x', '1'), r('y', '2')] });
    b.set(gw, { [TypeUrls.cluster]: [r('y', '2'), r('x', '1')] });
    assert.equal(a.get(gw)?.get(TypeUrls.cluster)?.version, b.get(gw)?.get(TypeUrls.cluster)?.version);
  });

  it('rejects a type it does not serve and duplicate names', () => {
    const { cache } = setup();
    assert.throws(() => cache.set(gw, { 'type.googleapis.com/envoy.Typo': [] }), /does not serve/);
    assert.throws(() => cache.set(gw, { [TypeUrls.cluster]: [r('x', '1'), r('x', '2')] }), /duplicate/);
  });
});

describe('SotwStream', () => {
  it('holds requests until the cache is synced, then answers them', () => {
    const { cache, sotw } = setup();
    cache.set(gw, { [TypeUrls.listener]: [r('l', '1')] });
    const early = sotw.handleRequest({
      typeUrl: TypeUrls.listener,
      versionInfo: '',
      resourceNames: [],
      responseNonce: '',
    });
    assert.deepEqual(early.responses, []);
    cache.markSynced();
    const [response] = sotw.handleChange([TypeUrls.listener]);
    assert.deepEqual(
      response?.resources.map((x) => x.name),
      ['l'],
    );
  });

  it('answers an empty wildcard Listener request with an empty response, and explicit RDS only when it exists', () => {
    const { cache, sotw } = setup();
    cache.set(gw, {});
    cache.markSynced();
    const lds = sotw.handleRequest({
      typeUrl: TypeUrls.listener,
      versionInfo: '',
      resourceNames: [],
      responseNonce: '',
    });
    assert.equal(lds.responses.length, 1);
    assert.deepEqual(lds.responses[0]?.resources, []);
    const rds = sotw.handleRequest({
      typeUrl: TypeUrls.route,
      versionInfo: '',
      resourceNames: ['r'],
      responseNonce: '',
    });
    assert.deepEqual(rds.responses, [], 'no answer for a route that does not exist yet');
    cache.set(gw, { [TypeUrls.route]: [r('r', '1')] });
    assert.equal(sotw.handleChange([TypeUrls.route]).length, 1);
  });

  it('sends a resubscribed route again after it was unsubscribed', () => {
    const { cache, sotw } = setup();
    cache.set(gw, { [TypeUrls.route]: [r('r', '1')] });
    cache.markSynced();
    const first = sotw.handleRequest({
      typeUrl: TypeUrls.route,
      versionInfo: '',
      resourceNames: ['r'],
      responseNonce: '',
    });
    const nonce1 = first.responses[0]?.nonce ?? '';
    const off = sotw.handleRequest({
      typeUrl: TypeUrls.route,
      versionInfo: '',
      resourceNames: [],
      responseNonce: nonce1,
    });
    assert.equal(off.outcome.kind, 'ack');
    assert.deepEqual(off.responses, []);
    const on = sotw.handleRequest({
      typeUrl: TypeUrls.route,
      versionInfo: '',
      resourceNames: ['r'],
      responseNonce: nonce1,
    });
    assert.deepEqual(
      on.responses[0]?.resources.map((x) => x.name),
      ['r'],
    );
  });
});

describe('DeltaStream', () => {
  it('tells a wildcard subscriber about removals and never resends unchanged resources', () => {
    const { cache, delta } = setup();
    cache.set(gw, { [TypeUrls.cluster]: [r('a', '1'), r('b', '1')] });
    cache.markSynced();
    const first = delta.handleRequest({
      typeUrl: TypeUrls.cluster,
      responseNonce: '',
      resourceNamesSubscribe: [],
      resourceNamesUnsubscribe: [],
      initialResourceVersions: {},
    });
    assert.equal(first.responses[0]?.resources.length, 2);
    cache.set(gw, { [TypeUrls.cluster]: [r('a', '2')] });
    const [change] = delta.handleChange([TypeUrls.cluster]);
    assert.deepEqual(
      change?.resources.map((x) => x.name),
      ['a'],
    );
    assert.deepEqual(change?.removedResources, ['b']);
    assert.deepEqual(delta.handleChange([TypeUrls.cluster]), []);
  });

  it('leaves ECDS names to Envoy: no removal of a held name and no missing report for a subscribed one', () => {
    const { cache, delta } = setup();
    cache.set(gw, { [TypeUrls.extensionConfig]: [r('f', '1')] });
    cache.markSynced();
    const request = (over: Partial<Parameters<DeltaStream['handleRequest']>[0]>) =>
      delta.handleRequest({
        typeUrl: TypeUrls.extensionConfig,
        responseNonce: '',
        resourceNamesSubscribe: [],
        resourceNamesUnsubscribe: [],
        initialResourceVersions: {},
        ...over,
      });
    const first = request({ resourceNamesSubscribe: ['f', 'not-yet'] });
    assert.deepEqual(
      first.responses[0]?.resources.map((x) => x.name),
      ['f'],
    );
    assert.deepEqual(
      first.responses[0]?.removedResources,
      [],
      'a missing name is not reported: Envoy would wait forever',
    );
    // The filter leaves the Gateway: the listener that still runs it (draining) keeps its config.
    cache.set(gw, {});
    assert.deepEqual(delta.handleChange([TypeUrls.extensionConfig]), []);
    // Back with other content: sent. Appearing: sent.
    cache.set(gw, { [TypeUrls.extensionConfig]: [r('f', '2'), r('not-yet', '1')] });
    const [back] = delta.handleChange([TypeUrls.extensionConfig]);
    assert.deepEqual(back?.resources.map((x) => x.name).sort(), ['f', 'not-yet']);
    // Envoy lets go of a name once no listener uses it.
    request({ resourceNamesUnsubscribe: ['f'] });
    cache.set(gw, { [TypeUrls.extensionConfig]: [r('f', '3'), r('not-yet', '1')] });
    assert.deepEqual(delta.handleChange([TypeUrls.extensionConfig]), []);

    // A wildcard subscriber (a tool, a test) still hears about removals.
    const wildcard = setup();
    wildcard.cache.set(gw, { [TypeUrls.extensionConfig]: [r('f', '1')] });
    wildcard.cache.markSynced();
    wildcard.delta.handleRequest({
      typeUrl: TypeUrls.extensionConfig,
      responseNonce: '',
      resourceNamesSubscribe: ['*'],
      resourceNamesUnsubscribe: [],
      initialResourceVersions: {},
    });
    wildcard.cache.set(gw, {});
    assert.deepEqual(wildcard.delta.handleChange([TypeUrls.extensionConfig])[0]?.removedResources, ['f']);
  });

  it('reports a subscribed name the Gateway lacks once, and sends it when it appears', () => {
    const { cache, delta } = setup();
    const subscribe = delta.handleRequest({
      typeUrl: TypeUrls.endpoint,
      responseNonce: '',
      resourceNamesSubscribe: ['later'],
      resourceNamesUnsubscribe: [],
      initialResourceVersions: {},
    });
    assert.deepEqual(subscribe.responses, [], 'nothing before the cache is ready');
    cache.set(gw, {});
    cache.markSynced();
    const [missing] = delta.handleChange([TypeUrls.endpoint]);
    assert.deepEqual(missing?.removedResources, ['later']);
    cache.set(gw, { [TypeUrls.cluster]: [r('c', '1')] });
    assert.deepEqual(delta.handleChange([TypeUrls.endpoint]), [], 'told once');
    cache.set(gw, { [TypeUrls.endpoint]: [r('later', '1')] });
    const [appeared] = delta.handleChange([TypeUrls.endpoint]);
    assert.deepEqual(
      appeared?.resources.map((x) => x.name),
      ['later'],
    );
  });

  it('treats an ACK for an unknown nonce as stale', () => {
    const { cache, delta } = setup();
    cache.set(gw, {});
    cache.markSynced();
    const outcome = delta.handleRequest({
      typeUrl: TypeUrls.cluster,
      responseNonce: '99',
      resourceNamesSubscribe: [],
      resourceNamesUnsubscribe: [],
      initialResourceVersions: {},
    }).outcome;
    assert.equal(outcome.kind, 'stale');
  });
});
