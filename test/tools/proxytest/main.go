// proxytest runs a proxy-wasm module on an independent host, the wazero-based proxytest emulator of
// the proxy-wasm Go SDK, so Legate's TypeScript host can be cross-checked against it.
//
// It reads a scenario (JSON) on stdin and prints what the module did (JSON) on stdout:
//
//	{"wasm": "build/x.wasm", "configuration": "{...}", "rootId": "", "timeMs": 1767225600000,
//	 "metrics": ["name"], "requests": [{"advanceMs": 0, "requestHeaders": [["k","v"]],
//	 "responseHeaders": [...], "httpCallResponse": {"headers": [["k","v"]], "body": "..."}}]}
//
// proxytest lacks proxy_get_current_time_nanoseconds, which Envoy provides: it is served here from a
// test clock (timeMs, moved forward by each request's advanceMs); see clock.go.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

type callResponse struct {
	Headers [][2]string `json:"headers"`
	Body    string      `json:"body"`
}

type request struct {
	AdvanceMs        uint64        `json:"advanceMs"`
	RequestHeaders   [][2]string   `json:"requestHeaders"`
	ResponseHeaders  [][2]string   `json:"responseHeaders"`
	HTTPCallResponse *callResponse `json:"httpCallResponse"`
}

type scenario struct {
	Wasm          string    `json:"wasm"`
	Configuration string    `json:"configuration"`
	RootID        string    `json:"rootId"`
	TimeMs        *uint64   `json:"timeMs"`
	Metrics       []string  `json:"metrics"`
	Requests      []request `json:"requests"`
}

type localResponse struct {
	Status     uint32      `json:"status"`
	Body       string      `json:"body"`
	Headers    [][2]string `json:"headers"`
	GrpcStatus int32       `json:"grpcStatus"`
	Details    string      `json:"details"`
}

type httpCall struct {
	Upstream string      `json:"upstream"`
	Headers  [][2]string `json:"headers"`
}

type outcome struct {
	RequestAction    int            `json:"requestAction"`
	RequestHeaders   [][2]string    `json:"requestHeaders"`
	ResponseHeaders  [][2]string    `json:"responseHeaders"`
	LocalResponse    *localResponse `json:"localResponse"`
	HTTPCalls        []httpCall     `json:"httpCalls"`
	ActionAfterCalls int            `json:"actionAfterCalls"`
}

type result struct {
	Configured bool              `json:"configured"`
	Requests   []outcome         `json:"requests"`
	Metrics    map[string]uint64 `json:"metrics"`
	Logs       []string          `json:"logs"`
}

func run(s scenario) (result, error) {
	wasm, err := os.ReadFile(s.Wasm)
	if err != nil {
		return result{}, err
	}
	clock := &testClock{nowNs: defaultTimeMs * 1_000_000}
	if s.TimeMs != nil {
		clock.nowNs = *s.TimeMs * 1_000_000
	}
	vm, err := newWasmVMContext(wasm, clock)
	if err != nil {
		return result{}, fmt.Errorf("loading %s: %w", s.Wasm, err)
	}
	defer vm.Close()
	opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte(s.Configuration))
	if s.RootID != "" {
		// proxytest cannot return an empty property value: leave it unset for the default root id.
		opt = opt.WithProperty([]string{"plugin_root_id"}, []byte(s.RootID))
	}
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()

	out := result{Metrics: map[string]uint64{}}
	host.StartVM()
	out.Configured = host.StartPlugin() == types.OnPluginStartStatusOK
	for _, r := range s.Requests {
		clock.nowNs += r.AdvanceMs * 1_000_000
		id := host.InitializeHttpContext()
		o := outcome{}
		o.RequestAction = int(host.CallOnRequestHeaders(id, r.RequestHeaders, len(r.ResponseHeaders) == 0))
		// proxytest keeps the local response as slices of module memory: copy it before the next call.
		o.LocalResponse = sentLocalResponse(host, id)
		for _, c := range host.GetCalloutAttributesFromContext(id) {
			o.HTTPCalls = append(o.HTTPCalls, httpCall{Upstream: c.Upstream, Headers: c.Headers})
			if r.HTTPCallResponse != nil {
				host.CallOnHttpCallResponse(c.CalloutID, r.HTTPCallResponse.Headers, nil, []byte(r.HTTPCallResponse.Body))
				if o.LocalResponse == nil {
					o.LocalResponse = sentLocalResponse(host, id)
				}
			}
		}
		if o.LocalResponse == nil && len(r.ResponseHeaders) > 0 {
			host.CallOnResponseHeaders(id, r.ResponseHeaders, true)
		}
		o.ActionAfterCalls = int(host.GetCurrentHttpStreamAction(id))
		o.RequestHeaders = host.GetCurrentRequestHeaders(id)
		o.ResponseHeaders = host.GetCurrentResponseHeaders(id)
		host.CompleteHttpContext(id)
		out.Requests = append(out.Requests, o)
	}
	for _, name := range s.Metrics {
		if v, err := host.GetCounterMetric(name); err == nil {
			out.Metrics[name] = v
		}
	}
	for _, l := range [][]string{host.GetTraceLogs(), host.GetDebugLogs(), host.GetInfoLogs(), host.GetWarnLogs(), host.GetErrorLogs(), host.GetCriticalLogs()} {
		out.Logs = append(out.Logs, l...)
	}
	return out, nil
}

func sentLocalResponse(host proxytest.HostEmulator, id uint32) *localResponse {
	local := host.GetSentLocalResponse(id)
	if local == nil {
		return nil
	}
	headers := make([][2]string, len(local.Headers))
	for i, h := range local.Headers {
		headers[i] = [2]string{string([]byte(h[0])), string([]byte(h[1]))}
	}
	return &localResponse{local.StatusCode, string(local.Data), headers, local.GRPCStatus, string([]byte(local.StatusCodeDetail))}
}

func main() {
	var s scenario
	if err := json.NewDecoder(os.Stdin).Decode(&s); err != nil {
		fmt.Fprintln(os.Stderr, "proxytest: bad scenario:", err)
		os.Exit(2)
	}
	out, err := run(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxytest:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
