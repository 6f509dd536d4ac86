import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoyType, TypeUrls } from './protos.ts';
import type { JsonValue } from './strict.ts';
import { StrictEncodeError, strictEncode } from './strict.ts';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

const listener: { [key: string]: JsonValue } = {
  name: 'ns/gw/80',
  address: { socketAddress: { address: '0.0.0.0', portValue: 10080 } },
  filterChains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typedConfig: {
            '@type': HCM,
            statPrefix: 'x',
            rds: { routeConfigName: 'ns/gw/80', configSource: { ads: {}, resourceApiVersion: 'V3' } },
            streamIdleTimeout: '1.5s',
            httpFilters: [
              {
                name: 'router',
                typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
              },
            ],
          },
        },
      ],
    },
  ],
};

function decode(url: string, bytes: Uint8Array): unknown {
  const t = envoyType(url.replace('type.googleapis.com/', ''));
  return t.toObject(t.decode(bytes), { json: true, enums: String, longs: String });
}

describe('strictEncode', () => {
  it('encodes a valid listener, nested Any and Duration included, and round-trips', () => {
    const bytes = strictEncode(TypeUrls.listener, listener);
    const back = decode(TypeUrls.listener, bytes) as {
      filterChains: { filters: { typedConfig: Record<string, unknown> }[] }[];
    };
    const hcm = back.filterChains[0]?.filters[0]?.typedConfig;
    assert.equal(hcm?.['@type'], HCM);
    assert.deepEqual(hcm?.streamIdleTimeout, { seconds: '1', nanos: 500000000 });
    assert.deepEqual(hcm?.rds, { routeConfigName: 'ns/gw/80', configSource: { ads: {}, resourceApiVersion: 'V3' } });
  });

  it('is deterministic: same JSON, same bytes, whatever the key order', () => {
    assert.deepEqual(strictEncode(TypeUrls.listener, listener), strictEncode(TypeUrls.listener, listener));
    const a = strictEncode(TypeUrls.cluster, { name: 'c', connectTimeout: '5s', lbPolicy: 'ROUND_ROBIN' });
    const b = strictEncode(TypeUrls.cluster, { lbPolicy: 'ROUND_ROBIN', connectTimeout: '5s', name: 'c' });
    assert.deepEqual(a, b);
  });

  it('encodes an empty Any as a present, empty field (route-level filter enablement)', () => {
    const route = {
      name: 'r',
      virtualHosts: [
        {
          name: 'v',
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/' },
              directResponse: { status: 200 },
              typedPerFilterConfig: {
                f: { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', config: {} },
              },
            },
          ],
        },
      ],
    };
    const RouteConfiguration = envoyType('envoy.config.route.v3.RouteConfiguration');
    const back = RouteConfiguration.decode(strictEncode(TypeUrls.route, route)) as unknown as {
      virtualHosts: { routes: { typedPerFilterConfig: Record<string, { type_url: string; value: Uint8Array }> }[] }[];
    };
    const any = back.virtualHosts[0]?.routes[0]?.typedPerFilterConfig.f;
    assert.equal(any?.type_url, 'type.googleapis.com/envoy.config.route.v3.FilterConfig');
    // FilterConfig{config: <empty Any>}: field 1, length 0.
    assert.deepEqual([...(any?.value ?? [])], [0x0a, 0x00]);
    // An Any with fields but no @type is still an error.
    assert.throws(
      () =>
        strictEncode(TypeUrls.route, {
          ...route,
          virtualHosts: [
            {
              name: 'v',
              domains: ['*'],
              routes: [
                {
                  match: { prefix: '/' },
                  directResponse: { status: 200 },
                  typedPerFilterConfig: { f: { value: 'x' } },
                },
              ],
            },
          ],
        }),
      /expected an Any with an "@type"/,
    );
  });

  const bad: [string, string, JsonValue, RegExp][] = [
    [
      'an unknown field',
      TypeUrls.cluster,
      { name: 'c', conectTimeout: '5s' },
      /\$\.conectTimeout: .*Cluster has no field/,
    ],
    [
      'an unknown enum value',
      TypeUrls.cluster,
      { name: 'c', lbPolicy: 'ROUND_ROBBIN' },
      /\$\.lbPolicy: enum .*LbPolicy has no value 'ROUND_ROBBIN'/,
    ],
    [
      'an unknown field inside an Any',
      TypeUrls.listener,
      { name: 'l', filterChains: [{ filters: [{ name: 'f', typedConfig: { '@type': HCM, statPrefx: 'x' } }] }] },
      /typedConfig<envoy\.extensions\.filters\.network\.http_connection_manager\.v3\.HttpConnectionManager>\.statPrefx/,
    ],
    [
      'an unknown @type',
      TypeUrls.listener,
      {
        name: 'l',
        filterChains: [{ filters: [{ name: 'f', typedConfig: { '@type': 'type.googleapis.com/no.Such' } }] }],
      },
      /unknown message type 'no.Such'/,
    ],
    ['a malformed Duration', TypeUrls.cluster, { name: 'c', connectTimeout: '5 seconds' }, /expected a Duration/],
    [
      'a string where a number belongs',
      TypeUrls.endpoint,
      { clusterName: 'e', endpoints: [{ loadBalancingWeight: 'one' }] },
      /expected uint32/,
    ],
    [
      'two members of one oneof',
      TypeUrls.route,
      { name: 'r', virtualHosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', path: '/x' } }] }] },
      /oneof 'pathSpecifier' already set/,
    ],
  ];
  for (const [what, url, json, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => strictEncode(url, json),
        (e: unknown) => e instanceof StrictEncodeError && message.test(e.message),
      );
    });
  }
});
