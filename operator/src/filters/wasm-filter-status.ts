// A WasmFilter's status from what the pipeline knows (pure). The Ready message is the one place a
// filter author learns what is wrong, so it carries the whole story: the problem, and what Envoy is
// doing meanwhile (serving the last good version, rejecting requests, or skipping the filter).

import type { Condition } from '../k8s/gateway-api.ts';
import { schemaProblem } from './config-schema.ts';
import { fillsOf } from './gateway-fill.ts';
import { formatBytes } from './module-check.ts';
import type { ModuleState } from './module-pipeline.ts';
import { describeSource } from './module-source.ts';
import type { FailurePolicy, WasmFilter, WasmFilterStatus } from './types.ts';

export function wasmFilterStatus(filter: WasmFilter, state: ModuleState | undefined): WasmFilterStatus {
  const generation = filter.metadata.generation;
  const policy: FailurePolicy = filter.spec.failurePolicy ?? 'FailClosed';
  const ready = readyCondition(state, policy);
  const stamp = (c: Condition): Condition => ({
    ...c,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  });
  const status: WasmFilterStatus = { conditions: [stamp(ready), stamp(schemaCondition(filter))] };
  if (generation !== undefined) status.observedGeneration = generation;
  const serving = state?.serving;
  if (serving) {
    status.sha256 = serving.sha256;
    status.size = serving.size;
    status.abiVersion = serving.abiVersion;
  }
  if (state?.settledAt !== undefined)
    status.lastFetchTime = new Date(state.settledAt).toISOString().replace(/\.\d+Z$/, 'Z');
  return status;
}

function readyCondition(state: ModuleState | undefined, policy: FailurePolicy): Condition {
  if (!state || (!state.problem && !state.current)) {
    const from = state ? ` from ${describeSource(state.source)}` : '';
    return { type: 'Ready', status: 'Unknown', reason: 'Pending', message: `fetching the module${from}` };
  }
  const serving = state.serving;
  if (!state.problem && serving) {
    return {
      type: 'Ready',
      status: 'True',
      reason: 'Ready',
      message: `module sha256:${serving.sha256} (${formatBytes(serving.size)}, proxy-wasm ${serving.abiVersion}) from ${describeSource(state.source)}`,
    };
  }
  const problem = state.problem;
  const what = problem?.message ?? 'unknown problem';
  const retry = state.failures > 0 ? ` (attempt ${state.failures}, retrying with backoff)` : '';
  let meanwhile: string;
  if (serving)
    meanwhile = `still serving the last good version sha256:${serving.sha256} (${formatBytes(serving.size)})`;
  else if (policy === 'FailClosed')
    meanwhile = 'no good version yet: FailClosed, so requests that would run this filter are rejected';
  else meanwhile = 'no good version yet: FailOpen, so the filter is skipped';
  return {
    type: 'Ready',
    status: 'False',
    reason: problem?.reason ?? 'Unknown',
    message: `${what}${retry}; ${meanwhile}`,
  };
}

/** `Accepted`: the spec is usable beyond what the CRD can check (today: configSchema compiles). */
function schemaCondition(filter: WasmFilter): Condition {
  const invalid = schemaProblem(filter.spec.configSchema);
  const problem = invalid
    ? `is not a valid JSON Schema: ${invalid}; every FilterPolicy using this filter is Invalid`
    : fillsOf(filter.spec.configSchema).problem;
  return problem
    ? { type: 'Accepted', status: 'False', reason: 'InvalidConfigSchema', message: `spec.configSchema ${problem}` }
    : { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'spec accepted' };
}
