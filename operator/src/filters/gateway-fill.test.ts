import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fillConfig, fillsOf } from './gateway-fill.ts';

describe('x-legate-fill', () => {
  it('fills the marked fields with the Gateway fact, at least 1 and at most the maximum', () => {
    const { fills, problem } = fillsOf({
      properties: { replicas: { type: 'integer', maximum: 8, 'x-legate-fill': 'gatewayReadyReplicas' }, a: {} },
    });
    assert.equal(problem, undefined);
    assert.equal(fillConfig('{"a":1,"replicas":5}', fills, { readyReplicas: 3 }), '{"a":1,"replicas":3}');
    assert.equal(fillConfig('{"a":1}', fills, { readyReplicas: 0 }), '{"a":1,"replicas":1}');
    assert.equal(fillConfig('{"a":1}', fills, { readyReplicas: 20 }), '{"a":1,"replicas":8}');
  });

  it('names an unknown fact, and fills nothing for it', () => {
    const { fills, problem } = fillsOf({ properties: { n: { 'x-legate-fill': 'podCount' } } });
    assert.deepEqual(fills, []);
    assert.match(
      problem ?? '',
      /properties\.n\.x-legate-fill: must be one of \["gatewayReadyReplicas"\], not "podCount"/,
    );
  });
});
