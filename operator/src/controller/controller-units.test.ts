import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { checkListeners } from '../infra/listeners.ts';
import type { Gateway } from '../k8s/gateway-api.ts';
import { XdsCertificateAuthority } from '../xds/identity.ts';
import { jsonLogger } from './log.ts';
import { parseOptions } from './options.ts';
import { type GatewayFindings, gatewayStatus, serviceAddresses, withTransitions } from './status.ts';
import { WorkQueue } from './work-queue.ts';
import { loadXdsCa } from './xds-ca.ts';

const gw: Gateway = {
  metadata: { name: 'web', namespace: 'team-a', generation: 3 },
  spec: { gatewayClassName: 'legate', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
};
const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T01:00:00Z');

test('a condition keeps its lastTransitionTime until its status changes', () => {
  const first = withTransitions(
    undefined,
    [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'x' }],
    1,
    t0,
  );
  const same = withTransitions(first, [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'y' }], 2, t1);
  assert.equal(same[0]?.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(same[0]?.observedGeneration, 2);
  const flipped = withTransitions(
    same,
    [{ type: 'Accepted', status: 'False', reason: 'InvalidParameters', message: 'z' }],
    2,
    t1,
  );
  assert.equal(flipped[0]?.lastTransitionTime, '2026-01-01T01:00:00Z');
});

test('Programmed follows available replicas; listener status keeps the translator’s attachedRoutes', () => {
  const withRoutes: Gateway = {
    ...gw,
    status: { listeners: [{ name: 'http', attachedRoutes: 4, supportedKinds: [], conditions: [] }] },
  };
  const findings = (availableReplicas: number): GatewayFindings => ({
    kind: 'applied',
    listeners: checkListeners(gw.spec.listeners),
    availableReplicas,
    addresses: [],
  });
  const pending = gatewayStatus(withRoutes, findings(0), t0);
  assert.deepEqual(
    pending.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`),
    ['Accepted=True/Accepted', 'Programmed=False/Pending'],
  );
  assert.equal(pending.listeners?.[0]?.attachedRoutes, 4);
  const ready = gatewayStatus(withRoutes, findings(2), t0);
  assert.equal(ready.conditions?.[1]?.status, 'True');
  assert.ok(ready.listeners?.[0]?.conditions.some((c) => c.type === 'Programmed' && c.status === 'True'));
});

test('invalid parameters give Accepted=False/InvalidParameters with the message', () => {
  const s = gatewayStatus(gw, { kind: 'invalid-parameters', message: 'ProxyConfig team-a/x not found' }, t0);
  assert.deepEqual(s.conditions?.[0], {
    type: 'Accepted',
    status: 'False',
    reason: 'InvalidParameters',
    message: 'ProxyConfig team-a/x not found',
    observedGeneration: 3,
    lastTransitionTime: '2026-01-01T00:00:00Z',
  });
});

test('addresses prefer the load balancer, then the cluster IP', () => {
  assert.deepEqual(
    serviceAddresses({
      spec: { clusterIP: '10.0.0.1' },
      status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { hostname: 'lb.example.com' }] } },
    }),
    [
      { type: 'IPAddress', value: '1.2.3.4' },
      { type: 'Hostname', value: 'lb.example.com' },
    ],
  );
  assert.deepEqual(serviceAddresses({ spec: { clusterIP: '10.0.0.1' } }), [{ type: 'IPAddress', value: '10.0.0.1' }]);
});

test('the work queue coalesces duplicate keys and retries failures', async () => {
  const seen: string[] = [];
  let failOnce = true;
  const q = new WorkQueue(
    async (key) => {
      seen.push(key);
      if (key === 'b' && failOnce) {
        failOnce = false;
        throw new Error('boom');
      }
    },
    { baseBackoffMs: 5 },
  );
  q.add('a');
  q.add('a');
  q.add('b');
  assert.deepEqual(seen, [], 'nothing runs while paused');
  q.resume();
  await q.idle();
  await new Promise((r) => setTimeout(r, 30));
  await q.idle();
  assert.deepEqual(seen, ['a', 'b', 'b']);
  q.stop();
});

test('options: flags win over env, defaults follow the operator namespace', () => {
  const o = parseOptions(['--namespace', 'team-a', '--health-port', '0'], {
    POD_NAMESPACE: 'ops',
    LEGATE_LOG_LEVEL: 'debug',
  });
  assert.equal(o.namespace, 'team-a');
  assert.equal(o.healthPort, 0);
  assert.equal(o.metricsPort, 8080);
  assert.equal(o.logLevel, 'debug');
  assert.equal(o.xdsAddress, 'legate-xds.ops.svc:18000');
  assert.equal(o.leaderElect, true);
  assert.equal(o.moduleCacheDir, undefined, 'modules are cached in memory only unless a folder is given');
  assert.equal(
    parseOptions(['--module-cache-dir', '/var/cache/legate/modules'], {}).moduleCacheDir,
    '/var/cache/legate/modules',
  );
  assert.throws(() => parseOptions(['--log-level', 'loud'], {}), /--log-level/);
  assert.throws(() => parseOptions(['--metrics-port', '70000'], {}), /not a port/);
  assert.throws(() => parseOptions(['--bogus'], {}), /bogus/);
});

test('logs are one JSON object per line with level filtering', () => {
  const lines: string[] = [];
  const log = jsonLogger('info', { identity: 'x' }, (l) => lines.push(l)).child({ component: 'c' });
  log.debug('hidden');
  log.warn('shown', { err: new Error('bad') });
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0] as string);
  assert.equal(entry.level, 'warn');
  assert.equal(entry.msg, 'shown');
  assert.equal(entry.identity, 'x');
  assert.equal(entry.component, 'c');
  assert.equal(entry.err.message, 'bad');
});

test('the xDS CA loads from a Secret folder with a PKCS#8 or a SEC1 (Helm) key', async () => {
  const made = await XdsCertificateAuthority.create();
  const pkcs8 = made.export().keyPem;
  const sec1 = createPrivateKey(pkcs8).export({ type: 'sec1', format: 'pem' }).toString();
  assert.match(sec1, /BEGIN EC PRIVATE KEY/);
  for (const keyPem of [pkcs8, sec1]) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'legate-ca-unit-'));
    writeFileSync(path.join(dir, 'tls.crt'), made.certPem);
    writeFileSync(path.join(dir, 'tls.key'), keyPem);
    try {
      const ca = await loadXdsCa(dir);
      assert.equal(ca.certPem, made.certPem);
      const issued = await ca.issueGatewayCertificate('team-a/web');
      assert.ok(new X509Certificate(issued.certPem).verify(new X509Certificate(made.certPem).publicKey));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('an invalid route gets one Warning Event per new problem, none for an unchanged one', async () => {
  const { routeProblemEvents } = await import('./translation-status.ts');
  const parentRef = { name: 'gw' };
  const cond = (type: string, status: 'True' | 'False', reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
  });
  const ok = [{ parentRef, controllerName: 'c', conditions: [cond('Accepted', 'True', 'Accepted', 'ok')] }];
  const partial = [
    {
      parentRef,
      controllerName: 'c',
      conditions: [
        cond('Accepted', 'True', 'Accepted', 'ok'),
        cond('PartiallyInvalid', 'True', 'UnsupportedValue', 'Dropped Rule(s): rule 0: bad regex'),
      ],
    },
  ];
  assert.deepEqual(routeProblemEvents(ok, partial), [
    { reason: 'PartiallyInvalid', message: 'parent gw: Dropped Rule(s): rule 0: bad regex' },
  ]);
  assert.deepEqual(routeProblemEvents(partial, partial), []);
  const rejected = [
    { parentRef, controllerName: 'c', conditions: [cond('Accepted', 'False', 'UnsupportedValue', 'x')] },
  ];
  assert.deepEqual(routeProblemEvents([], rejected), [{ reason: 'UnsupportedValue', message: 'parent gw: x' }]);
  assert.deepEqual(routeProblemEvents(rejected, ok), []);
});
