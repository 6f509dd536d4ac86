import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypeUrls } from '../envoy/protos.ts';
import { NackTracker } from './nack-status.ts';

const nack = (version: string, message: string) => ({
  gateway: 'ns/gw' as const,
  typeUrl: TypeUrls.route,
  protocol: 'sotw' as const,
  version,
  code: 3,
  message,
  nodeId: 'envoy-1',
});
const ack = (version: string) => ({
  gateway: 'ns/gw' as const,
  typeUrl: TypeUrls.route,
  protocol: 'sotw' as const,
  version,
  nodeId: 'envoy-1',
});

describe('NackTracker', () => {
  it('carries the proxy error text until a later version is accepted', () => {
    const tracker = new NackTracker();
    assert.equal(tracker.condition('ns/gw'), undefined);
    assert.equal(tracker.nack(nack('v2', 'unknown cluster b')), true);
    assert.deepEqual(tracker.condition('ns/gw'), {
      type: 'legate.dev/ConfigAccepted',
      status: 'False',
      reason: 'Rejected',
      message: 'envoy-1 rejected route version v2: unknown cluster b',
    });
    assert.equal(tracker.nack(nack('v2', 'unknown cluster b')), false, 'a repeat changes nothing');
    assert.equal(tracker.ack(ack('v2')), false, 'another replica accepting the same version does not clear it');
    assert.equal(tracker.ack(ack('v3')), true);
    assert.equal(tracker.condition('ns/gw')?.status, 'True');
  });

  it('names what NACK isolation holds back once the rest is accepted', () => {
    const tracker = new NackTracker();
    tracker.nack(nack('v2', 'bad regex'));
    assert.equal(tracker.held('ns/gw', ['HTTPRoute/ns/r2']), true);
    assert.equal(tracker.held('ns/gw', ['HTTPRoute/ns/r2']), false, 'unchanged');
    assert.equal(tracker.condition('ns/gw')?.status, 'False', 'the rejection is reported until a version is accepted');
    tracker.ack(ack('v3'));
    assert.deepEqual(tracker.condition('ns/gw'), {
      type: 'legate.dev/ConfigAccepted',
      status: 'True',
      reason: 'Accepted',
      message: 'Envoy accepted the configuration, without what it rejected before (see their status): HTTPRoute/ns/r2.',
    });
    assert.equal(tracker.held('ns/gw', []), true);
    assert.equal(tracker.condition('ns/gw')?.message, 'Envoy accepted the configuration.');
  });
});
