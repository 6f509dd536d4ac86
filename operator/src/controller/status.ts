// Status for GatewayClasses and Gateways, as pure functions of what the controller found. Reasons
// and messages follow the Gateway API spec's condition types; lastTransitionTime only moves when a
// condition's status changes.

import type { ListenerCheck } from '../infra/listeners.ts';
import type { Condition, Gateway, GatewayStatus, ListenerStatus } from '../k8s/gateway-api.ts';

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/** Stamps generation and transition time, keeping the old time when the status did not change. */
export function withTransitions(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  return next.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const lastTransitionTime =
      before?.lastTransitionTime && before.status === c.status
        ? before.lastTransitionTime
        : now.toISOString().replace(/\.\d+Z$/, 'Z');
    return { ...c, observedGeneration: generation, lastTransitionTime };
  });
}

export function gatewayClassConditions(
  problem: { reason: 'InvalidParameters'; message: string } | undefined,
): ConditionInput[] {
  return [
    problem
      ? { type: 'Accepted', status: 'False', reason: problem.reason, message: problem.message }
      : { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Accepted by Legate' },
  ];
}

/** What the controller learned about a Gateway, from which its status is computed. */
export type GatewayFindings =
  | { kind: 'invalid-class'; message: string }
  | { kind: 'invalid-parameters'; message: string }
  | {
      kind: 'applied';
      listeners: ListenerCheck[];
      /** Ready replicas of the Deployment. */
      availableReplicas: number;
      addresses: { type: 'IPAddress' | 'Hostname'; value: string }[];
    }
  | { kind: 'error'; message: string };

export function gatewayStatus(gw: Gateway, findings: GatewayFindings, now: Date): GatewayStatus {
  const gen = gw.metadata.generation;
  const prev = gw.status;
  const conds = (list: ConditionInput[]) => withTransitions(prev?.conditions, list, gen, now);
  if (findings.kind !== 'applied') {
    const reason = findings.kind === 'error' ? 'Pending' : 'InvalidParameters';
    const accepted: ConditionInput =
      findings.kind === 'error'
        ? { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Accepted by Legate' }
        : { type: 'Accepted', status: 'False', reason, message: findings.message };
    return {
      conditions: conds([
        accepted,
        {
          type: 'Programmed',
          status: 'False',
          reason: findings.kind === 'error' ? 'Pending' : 'Invalid',
          message: findings.message,
        },
      ]),
      listeners: listenerStatuses(gw, [], prev?.listeners, now),
    };
  }
  const programmed: ConditionInput =
    findings.availableReplicas > 0
      ? {
          type: 'Programmed',
          status: 'True',
          reason: 'Programmed',
          message: `${findings.availableReplicas} Envoy replica(s) available`,
        }
      : {
          type: 'Programmed',
          status: 'False',
          reason: 'Pending',
          message: 'Waiting for an Envoy replica to become available',
        };
  const anyListenerProblem = findings.listeners.some((l) => l.problem);
  return {
    addresses: findings.addresses,
    conditions: conds([
      {
        type: 'Accepted',
        status: 'True',
        reason: anyListenerProblem ? 'ListenersNotValid' : 'Accepted',
        message: anyListenerProblem ? 'Some listeners are invalid; see status.listeners' : 'Accepted by Legate',
      },
      programmed,
    ]),
    listeners: listenerStatuses(gw, findings.listeners, prev?.listeners, now, findings.availableReplicas > 0),
  };
}

function listenerStatuses(
  gw: Gateway,
  checks: ListenerCheck[],
  previous: ListenerStatus[] | undefined,
  now: Date,
  ready = false,
): ListenerStatus[] {
  return gw.spec.listeners.map((l) => {
    const check = checks.find((c) => c.name === l.name);
    const before = previous?.find((p) => p.name === l.name);
    const problem = check?.problem;
    const conditions: ConditionInput[] = [];
    if (!check) {
      conditions.push({ type: 'Accepted', status: 'False', reason: 'Pending', message: 'The Gateway is not accepted' });
      conditions.push({
        type: 'Programmed',
        status: 'False',
        reason: 'Pending',
        message: 'The Gateway is not accepted',
      });
    } else {
      conditions.push(
        problem?.condition === 'Accepted'
          ? { type: 'Accepted', status: 'False', reason: problem.reason, message: problem.message }
          : { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Listener accepted' },
      );
      conditions.push(
        problem?.condition === 'Conflicted'
          ? { type: 'Conflicted', status: 'True', reason: problem.reason, message: problem.message }
          : { type: 'Conflicted', status: 'False', reason: 'NoConflicts', message: 'No conflicts' },
      );
      conditions.push(
        check.invalidKinds.length > 0
          ? {
              type: 'ResolvedRefs',
              status: 'False',
              reason: 'InvalidRouteKinds',
              message: `Unsupported route kinds: ${check.invalidKinds.map((k) => k.kind).join(', ')}`,
            }
          : { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'References resolved' },
      );
      conditions.push(
        problem
          ? { type: 'Programmed', status: 'False', reason: 'Invalid', message: problem.message }
          : ready
            ? { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'Listener programmed' }
            : { type: 'Programmed', status: 'False', reason: 'Pending', message: 'Waiting for an Envoy replica' },
      );
    }
    return {
      name: l.name,
      supportedKinds: check?.supportedKinds ?? [],
      // Route attachment is counted by the translator; keep its value (0 until it reports one).
      attachedRoutes: before?.attachedRoutes ?? 0,
      conditions: withTransitions(before?.conditions, conditions, gw.metadata.generation, now),
    };
  });
}

/** Gateway addresses from the Service: load balancer ingress first, then the cluster IP. */
export function serviceAddresses(service: {
  spec?: { clusterIP?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}): { type: 'IPAddress' | 'Hostname'; value: string }[] {
  const out: { type: 'IPAddress' | 'Hostname'; value: string }[] = [];
  for (const ing of service.status?.loadBalancer?.ingress ?? []) {
    if (ing.ip) out.push({ type: 'IPAddress', value: ing.ip });
    else if (ing.hostname) out.push({ type: 'Hostname', value: ing.hostname });
  }
  if (out.length === 0 && service.spec?.clusterIP && service.spec.clusterIP !== 'None') {
    out.push({ type: 'IPAddress', value: service.spec.clusterIP });
  }
  return out;
}
