// What every worker of one plugin shares (Envoy: process-wide state for one vm_id).
import type { LogLevelName } from './abi.ts';
import type { HttpCall } from './http-call.ts';
import type { Metrics, SharedData, SharedQueues, TestClock, TestRandom } from './shared.ts';

export type LogEntry = { level: LogLevelName; message: string; worker: number };

/** Where a request's time goes, when FilterHostOptions.profile is on (nanoseconds). */
export type Profile = { inExportsNs: number; inImportsNs: number };

export type HostState = {
  /** Set when profiling: time inside module exports, and inside host functions called from them. */
  readonly profile: Profile | undefined;
  readonly logs: LogEntry[];
  readonly logLevel: LogLevelName;
  readonly echoLogs: boolean;
  readonly clock: TestClock;
  /** Answers WASI random_get (seeded by FilterHostOptions.randomSeed). */
  readonly random: TestRandom;
  readonly sharedData: SharedData;
  readonly queues: SharedQueues;
  readonly metrics: Metrics;
  /** httpCalls not answered yet (HttpCall removes itself when settled). */
  readonly httpCalls: HttpCall[];
  /** Property overrides (path joined with "."), as bytes. */
  readonly properties: Map<string, Uint8Array>;
  /** Clusters httpCall may target; undefined accepts any name. */
  readonly clusters: readonly string[] | undefined;
  readonly allowOnHeadersStopIteration: boolean;
  readonly rootId: string;
  readonly vmId: string;
  readonly pluginName: string;
};
