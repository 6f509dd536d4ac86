// Configuration fields the operator fills per Gateway (pure). A WasmFilter's configSchema marks a
// top-level property with `"x-legate-fill": "<fact>"`; every configuration the operator ships for
// that filter to a Gateway's Envoys then carries that Gateway's value, over anything a policy set.
// The one fact today is `gatewayReadyReplicas`: the ready replicas of the Gateway's Envoy Deployment,
// with which the rate-limit filter enforces each pod's share of a Gateway-wide limit.

import { canonicalJson } from './config-schema.ts';

export const fillKeyword = 'x-legate-fill';

/** What the operator knows about one Gateway's fleet. */
export interface GatewayFacts {
  /** Ready replicas of its Envoy Deployment (0 while none is ready, or unknown). */
  readyReplicas: number;
}

const facts = {
  // At least 1: a filter's share is "limit / replicas", and the first pod to become ready gets it all.
  gatewayReadyReplicas: (f: GatewayFacts) => Math.max(1, f.readyReplicas),
} as const;

export type FillFact = keyof typeof facts;

interface Fill {
  field: string;
  fact: FillFact;
  /** The property's `maximum`, so a filled value never makes a valid config invalid. */
  maximum?: number;
}

/** The fields a configSchema asks the operator to fill; an unknown fact is a schema problem. */
export function fillsOf(schema: Record<string, unknown> | undefined): { fills: Fill[]; problem?: string } {
  const properties = (schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
  const fills: Fill[] = [];
  for (const [field, property] of Object.entries(properties)) {
    const fact = property?.[fillKeyword];
    if (fact === undefined) continue;
    if (typeof fact !== 'string' || !(fact in facts)) {
      return {
        fills: [],
        problem: `properties.${field}.${fillKeyword}: must be one of ${JSON.stringify(Object.keys(facts))}, not ${JSON.stringify(fact)}`,
      };
    }
    const maximum = typeof property.maximum === 'number' ? property.maximum : undefined;
    fills.push({ field, fact: fact as FillFact, maximum });
  }
  return { fills };
}

/** The configuration (canonical JSON of an object) with this Gateway's values in the filled fields. */
export function fillConfig(configJson: string, fills: readonly Fill[], gateway: GatewayFacts): string {
  if (fills.length === 0) return configJson;
  const config = JSON.parse(configJson) as Record<string, unknown>;
  for (const { field, fact, maximum } of fills) {
    const value = facts[fact](gateway);
    config[field] = maximum === undefined ? value : Math.min(value, maximum);
  }
  return canonicalJson(config);
}
