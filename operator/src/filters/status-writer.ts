// Writes WasmFilter and FilterPolicy status through the status subresource. Kept apart from the
// pure status builders (wasm-filter-status.ts, policy-resolve.ts): this is the only part with a clock
// and I/O. lastTransitionTime only moves when a condition's status changes, as metav1.Condition wants.

import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Condition } from '../k8s/gateway-api.ts';
import { LegateGroup, type PolicyAncestorStatus, type WasmFilterStatus } from './types.ts';

const VERSION = 'v1alpha1';

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Conditions with lastTransitionTime kept from `previous` when the status did not change. */
export function withTransitionTimes(
  next: Condition[],
  previous: readonly Condition[] | undefined,
  now: Date,
): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const since = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now);
    return { ...c, lastTransitionTime: since };
  });
}

/** Replaces a WasmFilter's status (merge patch on /status). */
export async function writeWasmFilterStatus(
  api: CustomObjectsApi,
  filter: { metadata: { namespace?: string; name: string }; status?: WasmFilterStatus },
  status: WasmFilterStatus,
  now: Date = new Date(),
): Promise<void> {
  // null removes a field in a merge patch: no module in service means no digest in status.
  const cleared = { sha256: null, size: null, abiVersion: null };
  const conditions = withTransitionTimes(status.conditions ?? [], filter.status?.conditions, now);
  const body = { status: { ...cleared, ...status, conditions } };
  await api.patchNamespacedCustomObjectStatus(
    {
      group: LegateGroup,
      version: VERSION,
      namespace: filter.metadata.namespace ?? 'default',
      plural: 'wasmfilters',
      name: filter.metadata.name,
      body,
    },
    mergePatch(),
  );
}

/**
 * Replaces this controller's entries in a FilterPolicy's status.ancestors, keeping other
 * controllers' entries (several implementations may report on one policy, as GEP-713 allows).
 */
export async function writeFilterPolicyStatus(
  api: CustomObjectsApi,
  policy: { metadata: { namespace?: string; name: string }; status?: { ancestors?: PolicyAncestorStatus[] } },
  controllerName: string,
  ancestors: PolicyAncestorStatus[],
  now: Date = new Date(),
): Promise<void> {
  const previous = policy.status?.ancestors ?? [];
  const same = (a: PolicyAncestorStatus, b: PolicyAncestorStatus) =>
    JSON.stringify(a.ancestorRef) === JSON.stringify(b.ancestorRef);
  const ours = ancestors.map((a) => ({
    ...a,
    conditions: withTransitionTimes(
      a.conditions,
      previous.find((p) => p.controllerName === controllerName && same(p, a))?.conditions,
      now,
    ),
  }));
  const others = previous.filter((p) => p.controllerName !== controllerName);
  await api.patchNamespacedCustomObjectStatus(
    {
      group: LegateGroup,
      version: VERSION,
      namespace: policy.metadata.namespace ?? 'default',
      plural: 'filterpolicies',
      name: policy.metadata.name,
      body: { status: { ancestors: [...others, ...ours].slice(0, 16) } },
    },
    mergePatch(),
  );
}

/** client-node 2.x sends JSON Patch by default; a merge patch replaces `status` fields as given. */
function mergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}
