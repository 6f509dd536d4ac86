// A request scenario run the same way on any proxy-wasm host, so hosts can be compared. The shape
// matches test/tools/proxytest (the Go SDK's wazero host), which runs the same JSON.
import { HEADERS_STATUS } from './abi.ts';
import type { HeaderPairs } from './headers.ts';
import { FilterHost } from './index.ts';

export type ScenarioRequest = {
  requestHeaders: HeaderPairs;
  /** Sent after the request when it was neither answered locally nor left paused. */
  responseHeaders?: HeaderPairs;
  /** How every httpCall of the request is answered. */
  httpCallResponse?: { headers: HeaderPairs; body: string };
};

export type Scenario = {
  wasm: string;
  configuration: string;
  rootId?: string;
  /** Counters to report. */
  metrics: string[];
  requests: ScenarioRequest[];
};

export type ScenarioOutcome = {
  requestAction: number;
  requestHeaders: HeaderPairs;
  responseHeaders: HeaderPairs | null;
  localResponse: { status: number; body: string; headers: HeaderPairs; grpcStatus: number; details: string } | null;
  httpCalls: Array<{ upstream: string; headers: HeaderPairs }> | null;
  /** The request's action once the calls were answered: 0 when it resumed. */
  actionAfterCalls: number;
};

export type ScenarioResult = {
  configured: boolean;
  requests: ScenarioOutcome[];
  metrics: Record<string, number>;
  logs: string[] | null;
};

/** Runs a scenario on Legate's TypeScript host. */
export async function runScenario(s: Scenario): Promise<ScenarioResult> {
  const host = await FilterHost.load(s.wasm, { configuration: s.configuration, rootId: s.rootId ?? '' });
  const requests: ScenarioOutcome[] = [];
  for (const r of s.requests) {
    const stream = host.newStream();
    const status = stream.sendRequestHeaders(r.requestHeaders, !r.responseHeaders?.length);
    const requestAction = HEADERS_STATUS.indexOf(status);
    const calls = [...stream.pendingHttpCalls];
    for (const call of calls) {
      if (r.httpCallResponse) call.respond({ headers: r.httpCallResponse.headers, body: r.httpCallResponse.body });
    }
    const local = stream.localResponse;
    if (!local && r.responseHeaders?.length) stream.sendResponseHeaders(r.responseHeaders, true);
    requests.push({
      requestAction,
      requestHeaders: stream.request.headers.pairs,
      responseHeaders: stream.response.headers.size > 0 ? stream.response.headers.pairs : null,
      localResponse: local && {
        status: local.status,
        body: local.body,
        headers: local.headers,
        grpcStatus: local.grpcStatus ?? -1,
        details: local.details,
      },
      httpCalls: calls.length > 0 ? calls.map((c) => ({ upstream: c.upstream, headers: c.headers.pairs })) : null,
      actionAfterCalls: local || stream.requestPaused ? requestAction : 0,
    });
    stream.complete();
  }
  const metrics: Record<string, number> = {};
  for (const name of s.metrics) {
    const v = host.metric(name);
    if (v !== undefined) metrics[name] = v;
  }
  const logs = host.logs.map((l) => l.message);
  return { configured: host.configured, requests, metrics, logs: logs.length > 0 ? logs : null };
}
