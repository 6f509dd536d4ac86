// Token buckets, slots and CAS of the rate-limit filter's core (ratelimit/assembly/) on the host-free
// test module, under a test clock: burst, refill, per-descriptor isolation, per-pod shares, bounded
// keys and a staged CAS race between two workers.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { TestModule } from '../test-module.ts';

type Fns = {
  configure(): number;
  takeOne(rule: number, now: bigint): void;
  takeRacing(rule: number, now: bigint): void;
  conflicts(): bigint;
  keyCount(): number;
};
type Take = { allowed: boolean; remaining: number; retryAfterMs: number; resetMs: number };

let m: TestModule<Fns>;
before(async () => {
  m = await TestModule.load<Fns>('ratelimit-test');
});

function configure(config: object): void {
  m.setInputs(JSON.stringify(config));
  assert.equal(m.fns.configure(), 1, m.output().toString());
}

function take(descriptor: string, now: number, rule = 0): Take {
  m.setInputs(descriptor);
  m.fns.takeOne(rule, BigInt(now));
  return JSON.parse(m.output().toString());
}

const T0 = 1_700_000_000_000;

describe('token buckets', () => {
  test('burst, then 429 with the time to the next token, then refill', () => {
    configure({ rules: [{ name: 'r', requests: 5, unit: 'second' }] });
    for (let i = 0; i < 5; i++) {
      const t = take('a', T0);
      assert.equal(t.allowed, true);
      assert.equal(t.remaining, 4 - i);
    }
    assert.deepEqual(take('a', T0), { allowed: false, remaining: 0, retryAfterMs: 200, resetMs: 1000 });
    assert.equal(take('a', T0 + 199).allowed, false);
    assert.equal(take('a', T0 + 200).allowed, true, 'one token after 1/5 s');
    assert.equal(take('a', T0 + 200).allowed, false);
    assert.equal(take('a', T0 + 5000).remaining, 4, 'full again, never above the burst');
  });

  test('explicit burst smaller than the rate, per minute', () => {
    configure({ rules: [{ name: 'r', requests: 60, unit: 'minute', burst: 2 }] });
    assert.equal(take('a', T0).allowed, true);
    assert.equal(take('a', T0).allowed, true);
    const denied = take('a', T0);
    assert.equal(denied.allowed, false);
    assert.equal(denied.retryAfterMs, 1000);
    assert.equal(take('a', T0 + 1000).allowed, true);
  });

  test('descriptors are isolated', () => {
    configure({ rules: [{ name: 'r', requests: 1, unit: 'hour' }] });
    assert.equal(take('alice', T0).allowed, true);
    assert.equal(take('alice', T0).allowed, false);
    assert.equal(take('bob', T0).allowed, true);
    assert.equal(take('alice', T0 + 3_600_000).allowed, true);
  });

  test('each pod enforces its share of the Gateway limit (replicas)', () => {
    configure({ replicas: 4, rules: [{ name: 'r', requests: 1000, unit: 'minute' }] });
    let allowed = 0;
    for (let i = 0; i < 300; i++) if (take('k', T0).allowed) allowed++;
    assert.equal(allowed, 250);
    // Refill at a quarter of the rate: 1000/min/4 = 250/min, one token per 240 ms.
    assert.equal(take('k', T0 + 239).allowed, false);
    assert.equal(take('k', T0 + 240).allowed, true);
    configure({ replicas: 3, rules: [{ name: 'r', requests: 2, unit: 'second' }] });
    assert.equal(take('k', T0).allowed, true, 'a share below one request rounds up to one');
    assert.equal(take('k', T0).allowed, false);
  });

  test('a CAS race between two workers loses no update', () => {
    configure({ rules: [{ name: 'r', requests: 10, unit: 'second' }] });
    assert.equal(take('k', T0).remaining, 9);
    const before = m.fns.conflicts();
    m.setInputs('k', 'k');
    m.fns.takeRacing(0, BigInt(T0));
    const t: Take = JSON.parse(m.output().toString());
    assert.equal(t.allowed, true);
    assert.equal(t.remaining, 7, 'both the racing take and the retried one were counted');
    assert.equal(m.fns.conflicts(), before + 1n);
    assert.equal(take('k', T0).remaining, 6);
  });

  test('memory is bounded: keys stay within maxKeys, idle buckets are reused', () => {
    configure({ maxKeys: 16, rules: [{ name: 'r', requests: 1, unit: 'second' }] });
    for (let i = 0; i < 1000; i++) take(`client-${i}`, T0 + i * 10);
    assert.ok(m.fns.keyCount() <= 16, `keys: ${m.fns.keyCount()}`);
    // A client that comes back after its bucket refilled starts full, whoever used its slot.
    assert.equal(take('client-1', T0 + 20_000).allowed, true);
    // Active clients keep their state while the table has room.
    configure({ maxKeys: 64, rules: [{ name: 'r', requests: 1, unit: 'hour' }] });
    for (let i = 0; i < 8; i++) assert.equal(take(`c${i}`, T0).allowed, true);
    for (let i = 0; i < 8; i++) assert.equal(take(`c${i}`, T0 + 1).allowed, false, `c${i}`);
  });
});

describe('rate-limit configuration', () => {
  const refused = (config: object) => {
    m.setInputs(JSON.stringify(config));
    assert.equal(m.fns.configure(), 0);
    return m.output().toString();
  };
  test('bad configurations are refused with a reason naming the field', () => {
    assert.match(refused({}), /config\.rules: required/);
    assert.match(refused({ rules: [] }), /at least one rule/);
    assert.match(refused({ rules: [{ name: 'a', requests: 0 }] }), /rules\[0\]\.requests: must be between 1/);
    assert.match(refused({ rules: [{ name: 'a', requests: 1, unit: 'day' }] }), /must be one of second, minute, hour/);
    assert.match(refused({ rules: [{ name: 'a', requests: 1, descriptors: ['ip'] }] }), /unknown descriptor "ip"/);
    assert.match(refused({ replicas: 0, rules: [{ name: 'a', requests: 1 }] }), /config\.replicas/);
    assert.match(
      refused({
        rules: [
          { name: 'a', requests: 1 },
          { name: 'a', requests: 2 },
        ],
      }),
      /duplicate rule name/,
    );
    assert.match(refused({ rules: [{ name: 'a', requests: 1, burts: 3 }] }), /burts: unknown field/);
  });
});
