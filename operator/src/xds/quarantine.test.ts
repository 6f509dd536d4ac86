import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypeUrls } from '../envoy/protos.ts';
import { type Contributor, Quarantine, type SentResource } from './quarantine.ts';

const gw = 'team/web' as const;
const rds = TypeUrls.route;
const c = (key: string, fingerprint: string): Contributor => ({ key, fingerprint, object: { key, fingerprint } });
/** One RouteConfiguration `rc` built from these contributors (its hash: their fingerprints). */
const version = (...contributors: Contributor[]): Map<string, SentResource> =>
  new Map([['rc', { hash: contributors.map((x) => `${x.key}@${x.fingerprint}`).join(','), contributors }]]);
const nack = (v: string) => ({ gateway: gw, typeUrl: rds, version: v, nodeId: 'envoy-1', message: 'bad regex' });
const keep = () => true;

describe('Quarantine', () => {
  it('holds the one object that changed since the accepted version, pinned to its accepted form', () => {
    const q = new Quarantine({ bisect: [rds] });
    q.sent(gw, rds, 'v1', version(c('HTTPRoute/team/a', 'g1'), c('HTTPRoute/team/b', 'g1')));
    assert.equal(q.ack(gw, rds, 'v1'), false);
    q.sent(gw, rds, 'v2', version(c('HTTPRoute/team/a', 'g1'), c('HTTPRoute/team/b', 'g2')));
    const held = q.nack(nack('v2'));
    assert.deepEqual(
      held.map((h) => [h.key, h.fingerprint, h.pinned?.fingerprint, h.guilty, h.message]),
      [['HTTPRoute/team/b', 'g2', 'g1', true, 'bad regex']],
    );
    assert.deepEqual(q.nack(nack('v2')), [], 'a second replica NACKing the same version changes nothing');
    assert.deepEqual(
      q.held(gw, keep).map((h) => h.key),
      ['HTTPRoute/team/b'],
    );
    // It leaves quarantine when it changes again.
    assert.deepEqual(
      q.held(gw, (h) => h.fingerprint === 'g3'),
      [],
    );
    assert.deepEqual(q.held(gw, keep), []);
  });

  it('a new object Envoy never accepted is held without a pinned form', () => {
    const q = new Quarantine({ bisect: [rds] });
    q.sent(gw, rds, 'v1', version(c('HTTPRoute/team/a', 'g1')));
    q.ack(gw, rds, 'v1');
    q.sent(gw, rds, 'v2', version(c('HTTPRoute/team/a', 'g1'), c('HTTPRoute/team/new', 'g1')));
    const [held] = q.nack(nack('v2'));
    assert.equal(held?.key, 'HTTPRoute/team/new');
    assert.equal(held?.pinned, undefined);
  });

  it('an unknown version or a change of no tracked object holds nothing', () => {
    const q = new Quarantine({ bisect: [rds] });
    assert.deepEqual(q.nack(nack('v9')), []);
    q.sent(gw, rds, 'v1', version(c('HTTPRoute/team/a', 'g1')));
    q.ack(gw, rds, 'v1');
    q.sent(gw, rds, 'v2', new Map([['rc', { hash: 'other', contributors: [c('HTTPRoute/team/a', 'g1')] }]]));
    assert.deepEqual(q.nack(nack('v2')), []);
  });

  it('bisects several suspects: the innocent go out, the culprit stays held', () => {
    const q = new Quarantine({ bisect: [rds] });
    const keys = ['a', 'b', 'c', 'd'].map((k) => `HTTPRoute/team/${k}`);
    const bad = 'HTTPRoute/team/c';
    // Nothing accepted yet (an operator restart): every object of the rejected version is a suspect.
    let n = 0;
    const envoy = (included: string[]) => {
      const v = `v${++n}`;
      q.sent(gw, rds, v, version(...included.map((k) => c(k, 'g1'))));
      return included.includes(bad) ? { v, ok: false } : { v, ok: true };
    };
    let answer = envoy(keys);
    assert.equal(answer.ok, false);
    assert.equal(q.nack(nack(answer.v)).length, 4);
    // The operator's loop: translate without the held ones, Envoy answers, repeat.
    for (let round = 0; round < 10; round += 1) {
      const held = new Set(q.held(gw, keep).map((h) => h.key));
      answer = envoy(keys.filter((k) => !held.has(k)));
      const changed = answer.ok ? q.ack(gw, rds, answer.v) : q.nack(nack(answer.v)).length > 0;
      if (!changed) break;
    }
    const held = q.held(gw, keep);
    assert.deepEqual(
      held.map((h) => [h.key, h.guilty]),
      [[bad, true]],
    );
    assert.ok(n <= 8, `found in ${n} versions`);
  });
});
