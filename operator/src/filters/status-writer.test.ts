import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../k8s/gateway-api.ts';
import { withTransitionTimes } from './status-writer.ts';

const cond = (status: Condition['status'], message: string, lastTransitionTime?: string): Condition => ({
  type: 'Ready',
  status,
  reason: status === 'True' ? 'Ready' : 'SourceUnreachable',
  message,
  ...(lastTransitionTime ? { lastTransitionTime } : {}),
});
const now = new Date('2026-11-22T05:00:00.123Z');

describe('withTransitionTimes', () => {
  it('keeps the transition time while the status stays the same, even when the message changes', () => {
    const [c] = withTransitionTimes(
      [cond('False', 'attempt 2')],
      [cond('False', 'attempt 1', '2026-11-22T04:00:00Z')],
      now,
    );
    assert.equal(c?.lastTransitionTime, '2026-11-22T04:00:00Z');
    assert.equal(c?.message, 'attempt 2');
  });

  it('stamps the current time (RFC 3339, whole seconds) when the status flips or is new', () => {
    const [flipped] = withTransitionTimes([cond('True', 'ok')], [cond('False', 'x', '2026-11-22T04:00:00Z')], now);
    assert.equal(flipped?.lastTransitionTime, '2026-11-22T05:00:00Z');
    const [fresh] = withTransitionTimes([cond('True', 'ok')], undefined, now);
    assert.equal(fresh?.lastTransitionTime, '2026-11-22T05:00:00Z');
  });
});
