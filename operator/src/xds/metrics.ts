// Prometheus metrics of the xDS server (prom-client). Names are documented in docs/xds.md.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { TypeUrls } from '../envoy/protos.ts';

export type XdsProtocol = 'sotw' | 'delta';

const typeLabels = new Map<string, string>(Object.entries(TypeUrls).map(([label, url]) => [url, label]));

/** A short, bounded label for a type URL (`listener`, `route`, `cluster`, `endpoint`, ...). */
export function typeLabel(typeUrl: string): string {
  return typeLabels.get(typeUrl) ?? 'other';
}

export interface XdsMetrics {
  readonly streams: Gauge<'gateway' | 'protocol' | 'view'>;
  readonly pushes: Counter<'gateway' | 'type' | 'protocol'>;
  readonly pushLatency: Histogram<'type'>;
  readonly nacks: Counter<'gateway' | 'type'>;
  readonly denied: Counter<'reason'>;
}

export function createXdsMetrics(registry: Registry): XdsMetrics {
  const registers = [registry];
  return {
    streams: new Gauge({
      name: 'legate_xds_streams',
      help: 'Connected ADS streams, per Gateway, protocol (sotw or delta) and view (envoy or proxyless).',
      labelNames: ['gateway', 'protocol', 'view'],
      registers,
    }),
    pushes: new Counter({
      name: 'legate_xds_pushes_total',
      help: 'xDS responses sent, per Gateway, resource type and protocol.',
      labelNames: ['gateway', 'type', 'protocol'],
      registers,
    }),
    pushLatency: new Histogram({
      name: 'legate_xds_push_latency_seconds',
      help: 'Time from a configuration change being seen to the xDS response carrying it being sent.',
      labelNames: ['type'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    nacks: new Counter({
      name: 'legate_xds_nacks_total',
      help: 'xDS responses a proxy rejected (NACK), per Gateway and resource type.',
      labelNames: ['gateway', 'type'],
      registers,
    }),
    denied: new Counter({
      name: 'legate_xds_denied_streams_total',
      help: 'ADS streams refused with PERMISSION_DENIED, by reason.',
      labelNames: ['reason'],
      registers,
    }),
  };
}
