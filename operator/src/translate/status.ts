// Status shapes translation produces, as Gateway API condition objects (no lastTransitionTime: the
// status writer owns the clock).

import type { Condition, ListenerStatus, ParentReference } from '../k8s/gateway-api.ts';
import type { RouteKind } from './input.ts';

export function condition(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  observedGeneration: number | undefined,
): Condition {
  const c: Condition = { type, status: ok ? 'True' : 'False', reason, message };
  if (observedGeneration !== undefined) c.observedGeneration = observedGeneration;
  return c;
}

/** The status of one route parentRef that points at the translated Gateway. */
export interface RouteParentStatusResult {
  kind: RouteKind;
  /** `<namespace>/<name>` of the route. */
  route: string;
  parentRef: ParentReference;
  controllerName: string;
  conditions: Condition[];
}

export interface GatewayStatusResult {
  conditions: Condition[];
  listeners: ListenerStatus[];
}
