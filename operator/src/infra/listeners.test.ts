import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Listener } from '../k8s/gateway-api.ts';
import { checkListeners } from './listeners.ts';

const l = (name: string, port: number, protocol: string, hostname?: string): Listener => ({
  name,
  port,
  protocol,
  ...(hostname ? { hostname } : {}),
});

test('HTTP listeners report HTTPRoute and GRPCRoute as supported kinds', () => {
  const [c] = checkListeners([l('http', 80, 'HTTP')]);
  assert.deepEqual(c?.supportedKinds, [
    { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' },
    { group: 'gateway.networking.k8s.io', kind: 'GRPCRoute' },
  ]);
  assert.equal(c?.problem, undefined);
});

test('a requested kind the protocol cannot carry is reported as invalid', () => {
  const [c] = checkListeners([
    { ...l('http', 80, 'HTTP'), allowedRoutes: { kinds: [{ kind: 'TCPRoute' }, { kind: 'HTTPRoute' }] } },
  ]);
  assert.deepEqual(c?.supportedKinds, [{ kind: 'HTTPRoute' }]);
  assert.deepEqual(c?.invalidKinds, [{ kind: 'TCPRoute' }]);
});

test('HTTP and HTTPS on one port conflict; two hostnames on one HTTPS port do not', () => {
  const checks = checkListeners([
    l('a', 443, 'HTTPS', 'a.example.com'),
    l('b', 443, 'HTTPS', 'b.example.com'),
    l('c', 8080, 'HTTP'),
    l('d', 8080, 'HTTPS'),
  ]);
  assert.equal(checks[0]?.problem, undefined);
  assert.equal(checks[1]?.problem, undefined);
  assert.equal(checks[2]?.problem?.reason, 'ProtocolConflict');
  assert.match(checks[2]?.problem?.message ?? '', /listener d uses port 8080 with protocol HTTPS/);
});

test('the same hostname twice on a port is a hostname conflict', () => {
  const checks = checkListeners([l('a', 80, 'HTTP', 'x.example.com'), l('b', 80, 'HTTP', 'x.example.com')]);
  assert.equal(checks[0]?.problem?.reason, 'HostnameConflict');
});

test("Envoy's own ports and ports colliding after the privileged-port shift are refused", () => {
  const checks = checkListeners([
    l('admin', 19000, 'HTTP'),
    l('low', 80, 'HTTP'),
    l('high', 10080, 'HTTPS'),
    l('udp', 53, 'UDP'),
  ]);
  assert.equal(checks[0]?.problem?.reason, 'PortUnavailable');
  assert.equal(checks[1]?.problem?.reason, 'ProtocolConflict');
  assert.match(checks[1]?.problem?.message ?? '', /both map to Envoy port 10080/);
  assert.equal(checks[3]?.problem?.reason, 'UnsupportedProtocol', 'UDP is not served');
});
