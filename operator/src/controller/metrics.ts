// The operator's Prometheus metrics (prom-client), on their own registry so tests can run several.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'legate_reconcile_total',
    help: 'Reconciles by object kind and result (success, invalid, error).',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'legate_reconcile_errors_total',
    help: 'Reconciles that failed and will be retried, by object kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'legate_reconcile_duration_seconds',
    help: 'Time taken by one reconcile, by object kind.',
    labelNames: ['kind'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly managedGateways = new Gauge({
    name: 'legate_managed_gateways',
    help: 'Gateways whose Envoy fleet this operator manages.',
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'legate_leader',
    help: '1 while this replica holds the leader Lease.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'legate_' });
  }
}
