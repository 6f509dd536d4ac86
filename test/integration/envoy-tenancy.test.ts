// The tenant wall, held to real Envoy: two teams, each with its own namespace, Gateway (HTTP and
// HTTPS with its own certificate), route, backend and Wasm filter, served by one operator watching
// every namespace. An Envoy pod holds its Gateway's xDS client certificate (Secret legate-web-xds):
// what it receives (/config_dump, EDS included) is its team's alone, and the other team's hosts get
// 404 through it — also when the other team names this team's Gateway in a route's parentRefs. A pod
// that presents its own certificate but claims the other Gateway as its node cluster (a tampered
// --service-cluster) is refused by the operator and receives nothing at all.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { builtModule } from '../../filters/cli/build-examples.ts';
import { type IssuedCertificate, XdsCertificateAuthority } from '../../operator/src/xds/identity.ts';
import { startGatewayEnvoy } from '../harness/envoy.ts';
import { request } from '../harness/http-client.ts';
import { assertNoDeprecatedFeatures, wasmFilterManifests } from './envoy-traffic.ts';
import { type EnvoyPod, type GatewayEnv, type Manifest, startGatewayEnv } from './gateway-env.ts';
import { eventually, uniqueSuffix } from './operator-helpers.ts';

describe('the tenant wall on real Envoy: a Gateway certificate gets that Gateway only', () => {
  let env: GatewayEnv;
  let ca: XdsCertificateAuthority;
  const suffix = uniqueSuffix();
  const teams = { a: `tenant-a-${suffix}`, b: `tenant-b-${suffix}` } as const;
  const hosts = { a: 'shop-a.example', b: 'shop-b.example' } as const;
  const certs: Partial<Record<'a' | 'b', IssuedCertificate>> = {};
  const envoys: Partial<Record<'a' | 'b', EnvoyPod>> = {};
  let tampered: EnvoyPod | undefined;

  const get = (envoy: EnvoyPod, host: string) => request(envoy.url(80, '/'), { headers: { host } });
  const dumpOf = async (envoy: EnvoyPod) => envoy.admin('/config_dump?include_eds');
  /**
   * A line of a team's certificate PEM that the other team's does not have (Envoy's config dump
   * shows the PEM inline). Both are issued by one CA with one subject, often in the same second, so
   * the lines with the validity and the subject can be equal: the key and signature lines are not.
   */
  const certLine = (team: 'a' | 'b') => {
    const lines = (t: 'a' | 'b') =>
      (certs[t]?.certPem ?? '').split('\n').filter((l) => l.length === 64 && !l.startsWith('-----'));
    const other = lines(team === 'a' ? 'b' : 'a');
    return lines(team).find((l) => !other.includes(l)) ?? '';
  };

  before(async () => {
    env = await startGatewayEnv({ allNamespaces: true });
    ca = await XdsCertificateAuthority.create();
    const wasm = readFileSync(await builtModule('header-rewrite'));
    for (const team of ['a', 'b'] as const) {
      const ns = teams[team];
      await env.createNamespace(ns);
      certs[team] = await ca.issueServerCertificate({ dns: [hosts[team]] });
      const cert = certs[team] as IssuedCertificate;
      const objects: Manifest[] = [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { namespace: ns, name: 'shop-cert' },
          type: 'kubernetes.io/tls',
          data: {
            'tls.crt': Buffer.from(cert.certPem).toString('base64'),
            'tls.key': Buffer.from(cert.keyPem).toString('base64'),
          },
        },
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { namespace: ns, name: 'shop' },
          spec: {
            parentRefs: [{ name: 'web' }],
            hostnames: [hosts[team]],
            rules: [{ backendRefs: [{ name: `shop-${team}`, port: 80 }] }],
          },
        },
        ...wasmFilterManifests(ns, 'rewrite', wasm, { failurePolicy: 'FailClosed' }),
        {
          apiVersion: 'legate.dev/v1alpha1',
          kind: 'FilterPolicy',
          metadata: { namespace: ns, name: 'stamp' },
          spec: {
            targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'web' }],
            filters: [
              {
                name: 'stamp',
                filterRef: { name: 'rewrite' },
                config: { request: { set: { 'x-team': `team-${team}-${suffix}` } } },
              },
            ],
          },
        },
      ];
      await env.gateway(
        'web',
        [
          { name: 'http', port: 80, protocol: 'HTTP' },
          {
            name: 'https',
            port: 443,
            protocol: 'HTTPS',
            hostname: hosts[team],
            tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'shop-cert' }] },
          },
        ],
        ns,
      );
      await env.echoService(`shop-${team}`, { namespace: ns });
      for (const o of objects) await env.apply(o);
    }
    // Team B also names team A's Gateway: refused there (allowedRoutes defaults to the same namespace).
    await env.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { namespace: teams.b, name: 'sneaky' },
      spec: {
        parentRefs: [{ name: 'web', namespace: teams.a }],
        hostnames: ['sneaky.example'],
        rules: [{ backendRefs: [{ name: 'shop-b', port: 80 }] }],
      },
    });
    envoys.a = await env.envoy('web', teams.a);
    envoys.b = await env.envoy('web', teams.b);
  });

  after(async () => {
    await tampered?.stop();
    await env?.stop();
  });

  it("serves each team's host through its own Envoy, with its own filter", async () => {
    for (const team of ['a', 'b'] as const) {
      const envoy = envoys[team] as EnvoyPod;
      const res = await eventually(`${hosts[team]} through its team's Envoy`, async () => {
        const r = await get(envoy, hosts[team]);
        return r.status === 200 && r.json<{ headers: Record<string, string> }>()?.headers['x-team'] ? r : undefined;
      });
      const echo = res.json<{ name: string; headers: Record<string, string> }>();
      assert.equal(echo?.name, `shop-${team}-0`);
      assert.equal(echo?.headers['x-team'], `team-${team}-${suffix}`);
      const tls = await request(envoy.url(443, '/', 'https'), {
        headers: { host: hosts[team] },
        ca: ca.certPem,
      });
      assert.equal(tls.status, 200);
      assert.equal(tls.peerCertificate?.subjectaltname, `DNS:${hosts[team]}`);
    }
  });

  it("answers 404 for the other team's hosts, also for a route naming its Gateway from the other namespace", async () => {
    const a = envoys.a as EnvoyPod;
    const b = envoys.b as EnvoyPod;
    for (const [envoy, host] of [
      [a, hosts.b],
      [b, hosts.a],
      [a, 'sneaky.example'],
    ] as const) {
      const res = await get(envoy, host);
      assert.equal(res.status, 404, `${host}: ${res.status} ${res.body}`);
      assert.equal(res.headers['x-echo-backend'], undefined);
    }
    // The HTTPS listener has no certificate for the other team's name: the handshake fails.
    await assert.rejects(
      request(a.url(443, '/', 'https'), { headers: { host: hosts.b }, ca: ca.certPem, timeoutMs: 5000 }),
    );
  });

  it("gives each Envoy nothing of the other team's: listeners, routes, clusters, endpoints, secrets, filters", async () => {
    for (const [mine, theirs] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const dump = await dumpOf(envoys[mine] as EnvoyPod);
      const parsed = JSON.parse(dump) as { configs: { '@type': string }[] };
      const sections = parsed.configs.map((c) => c['@type'].split('.').pop());
      for (const expected of ['ListenersConfigDump', 'RoutesConfigDump', 'ClustersConfigDump', 'SecretsConfigDump']) {
        assert.ok(sections.includes(expected), `${mine}: ${expected} in ${sections.join(', ')}`);
      }
      // Present: its own namespace, host, certificate, filter config and backend.
      for (const own of [teams[mine], hosts[mine], certLine(mine), `team-${mine}-${suffix}`, `shop-${mine}`]) {
        assert.ok(own && dump.includes(own), `${mine}'s Envoy has ${own}`);
      }
      // Absent: anything of the other team's.
      for (const foreign of [
        teams[theirs],
        hosts[theirs],
        certLine(theirs),
        `team-${theirs}-${suffix}`,
        `shop-${theirs}`,
        'sneaky',
      ]) {
        assert.ok(foreign && !dump.includes(foreign), `${mine}'s Envoy must not have ${foreign}`);
      }
    }
  });

  it("refuses an Envoy that presents its own certificate but claims the other team's Gateway", async () => {
    tampered = await startGatewayEnvoy({
      kubeConfig: env.cluster.kubeConfig(),
      namespace: teams.a,
      gateway: 'web',
      // Team A's pod (team A's xDS Secret mounted), claiming team B's Gateway as its node cluster.
      editArgs: (argv) => argv.map((arg) => (arg === `${teams.a}/web` ? `${teams.b}/web` : arg)),
    });
    const pod = tampered;
    // The operator counts and logs the refusal; the pod's log carries the reason (gRPC PERMISSION_DENIED = 7).
    await eventually('the operator to refuse the stream', async () => {
      const res = await fetch(`http://127.0.0.1:${env.operator.metricsPort()}/metrics`);
      const denied = /^legate_xds_denied_streams_total\{[^}]*reason="wrong-gateway"[^}]*\} (\d+)/m.exec(
        await res.text(),
      );
      return Number(denied?.[1] ?? 0) > 0 || undefined;
    });
    const logged = env.operator.logs.find((l) => l.msg === 'xds stream refused' && l.cluster === `${teams.b}/web`);
    assert.equal(logged?.reason, 'wrong-gateway');
    assert.equal(logged?.nodeId, pod.name);
    assert.equal(
      logged?.message,
      `the client certificate belongs to Gateway ${teams.a}/web, but the node claims cluster "${teams.b}/web"`,
    );
    const refusal = await eventually(
      'Envoy to log the refusal',
      async () => /.*config stream.*closed.*\n?/.exec(pod.logs())?.[0],
    );
    // Envoy prints grpc-message as it came over the wire: percent-encoded.
    assert.match(refusal, /DeltaAggregatedResources gRPC config stream to legate_xds closed: 7, /);
    assert.ok(
      decodeURIComponent(refusal).includes(
        `the client certificate belongs to Gateway ${teams.a}/web, but the node claims cluster "${teams.b}/web"`,
      ),
      refusal,
    );
    const info = JSON.parse(await pod.admin('/server_info'));
    assert.equal(info.node.cluster, `${teams.b}/web`, 'the tampered pod claims team B');
    const dump = await dumpOf(pod);
    for (const foreign of [teams.b, hosts.b, certLine('b'), `team-b-${suffix}`, 'shop-b']) {
      assert.ok(!dump.includes(foreign), `the tampered Envoy must not have ${foreign}`);
    }
    const parsed = JSON.parse(dump) as { configs: Record<string, unknown>[] };
    const listeners = parsed.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump'));
    assert.equal(listeners?.dynamic_listeners, undefined, 'no listener from the operator');
    const clusters = parsed.configs.find((c) => String(c['@type']).endsWith('ClustersConfigDump'));
    assert.equal(clusters?.dynamic_active_clusters, undefined, 'no cluster from the operator');
    const stats = await pod.stats();
    assert.equal(stats.get('control_plane.connected_state'), 0);
  });

  it('uses no deprecated Envoy feature', async () => {
    for (const envoy of [envoys.a, envoys.b] as EnvoyPod[]) {
      await assertNoDeprecatedFeatures(envoy);
    }
  });
});
