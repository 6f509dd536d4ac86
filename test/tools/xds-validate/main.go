// xds-validate checks rendered Envoy resources by Envoy's own rules, using go-control-plane:
//   - strict proto3 JSON unmarshal (unknown fields, bad enum names and unknown @type are errors),
//   - ValidateAll() from the generated protoc-gen-validate code,
//   - snapshot consistency: every RDS, EDS and SDS name a resource references exists,
//   - no deprecated field or enum value set (Envoy counts each in runtime.deprecated_feature_use),
//   - no unknown field in a binary resource (a field Envoy 1.40's API does not have).
//
// A Bootstrap (@type envoy.config.bootstrap.v3.Bootstrap) may be given too: it is checked the same
// way, and kept out of the snapshot.
//
// The one empty Any accepted is a route's FilterConfig.config (per-route enablement of an HTTP filter
// that is disabled on the chain); protojson reads `"config": {}` as that empty Any.
//
// Input (stdin or the file named by the first argument): the JSON `legate translate` prints,
//
//	{"gateways": [{"gateway": "<namespace>/<name>", "resources": [{"@type": "...", ...}, ...],
//	               "proxylessListeners": [{"@type": "...", ...}]}]}
//
// Each Gateway is one snapshot; its proxyless API listeners are checked in it too. A resource may
// also be given in its binary (wire) form, as an xDS client received it:
//
//	{"typeUrl": "type.googleapis.com/...", "binary": "<base64 of the encoded message>"}
//
// Output: one JSON object {"ok": bool, "errors": ["<snapshot>: <resource>: <message>", ...]}.
// Exit status 0 when every snapshot is valid, 1 when one is not, 2 on unreadable input.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	bootstrap "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tls "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	// Types that appear inside Any fields of Legate's output.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
)

type snapshotInput struct {
	Name      string            `json:"gateway"`
	Resources []json.RawMessage `json:"resources"`
	Proxyless []json.RawMessage `json:"proxylessListeners"`
}

type translateOutput struct {
	Gateways []snapshotInput `json:"gateways"`
}

type report struct {
	OK     bool     `json:"ok"`
	Errors []string `json:"errors"`
}

type validatable interface{ ValidateAll() error }

func main() {
	var in io.Reader = os.Stdin
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	var doc translateOutput
	if err := json.NewDecoder(in).Decode(&doc); err != nil {
		fmt.Fprintln(os.Stderr, "unreadable input:", err)
		os.Exit(2)
	}
	rep := report{OK: true, Errors: []string{}}
	for _, s := range doc.Gateways {
		for _, e := range validateSnapshot(s) {
			rep.Errors = append(rep.Errors, s.Name+": "+e)
		}
	}
	rep.OK = len(rep.Errors) == 0
	out, _ := json.Marshal(rep)
	fmt.Println(string(out))
	if !rep.OK {
		os.Exit(1)
	}
}

func validateSnapshot(s snapshotInput) []string {
	var errs []string
	byType := map[resource.Type][]types.Resource{}
	secretRefs := map[string]bool{}
	for i, raw := range append(append([]json.RawMessage{}, s.Resources...), s.Proxyless...) {
		var a anypb.Any
		var bin struct {
			TypeURL string `json:"typeUrl"`
			Binary  []byte `json:"binary"`
		}
		if json.Unmarshal(raw, &bin) == nil && bin.TypeURL != "" && bin.Binary != nil {
			a.TypeUrl, a.Value = bin.TypeURL, bin.Binary
		} else if err := (protojson.UnmarshalOptions{}).Unmarshal(raw, &a); err != nil {
			errs = append(errs, fmt.Sprintf("resource %d: %v", i, err))
			continue
		}
		msg, err := a.UnmarshalNew()
		if err != nil {
			errs = append(errs, fmt.Sprintf("resource %d: %v", i, err))
			continue
		}
		label := fmt.Sprintf("resource %d (%s %q)", i, a.GetTypeUrl(), resourceName(msg))
		if v, ok := msg.(validatable); ok {
			if err := v.ValidateAll(); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", label, err))
			}
		}
		errs = append(errs, validateNested(msg, label)...)
		if _, ok := msg.(*bootstrap.Bootstrap); ok {
			continue
		}
		if l, ok := msg.(*listener.Listener); ok {
			collectSecretRefs(l, secretRefs)
		}
		byType[a.GetTypeUrl()] = append(byType[a.GetTypeUrl()], msg)
	}
	snap, err := cache.NewSnapshot("1", byType)
	if err != nil {
		return append(errs, err.Error())
	}
	if err := snap.Consistent(); err != nil {
		errs = append(errs, "snapshot inconsistent: "+err.Error())
	}
	secrets := map[string]bool{}
	for _, r := range byType[resource.SecretType] {
		secrets[r.(*tls.Secret).GetName()] = true
	}
	var missing []string
	for name := range secretRefs {
		if !secrets[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		errs = append(errs, fmt.Sprintf("snapshot inconsistent: SDS secret %q is referenced but not present", name))
	}
	return errs
}

// validateNested runs ValidateAll on messages packed in Any fields (HTTP connection manager, TLS
// contexts, filters), which the outer ValidateAll does not unpack.
func validateNested(msg proto.Message, label string) []string {
	var errs []string
	var visit func(m proto.Message)
	visit = func(m proto.Message) {
		_, isFilterConfig := m.(*route.FilterConfig)
		if unknown := m.ProtoReflect().GetUnknown(); len(unknown) > 0 {
			errs = append(errs, fmt.Sprintf("%s: %s has %d bytes of fields Envoy's API does not know", label, m.ProtoReflect().Descriptor().FullName(), len(unknown)))
		}
		m.ProtoReflect().Range(func(fd protoreflectFieldDescriptor, v protoreflectValue) bool {
			if what := deprecatedUse(fd, v); what != "" {
				errs = append(errs, fmt.Sprintf("%s: %s", label, what))
			}
			return walkField(fd, v, func(inner proto.Message) {
				if a, ok := inner.(*anypb.Any); ok {
					// FilterConfig{config: <empty Any>} enables a chain-disabled HTTP filter on a route
					// (Envoy: "enabled, no per-route config"). An empty Any anywhere else is an error.
					if isFilterConfig && fd.Name() == "config" && a.GetTypeUrl() == "" && len(a.GetValue()) == 0 {
						return
					}
					un, err := a.UnmarshalNew()
					if err != nil {
						errs = append(errs, fmt.Sprintf("%s: %s: %v", label, a.GetTypeUrl(), err))
						return
					}
					if v, ok := un.(validatable); ok {
						if err := v.ValidateAll(); err != nil {
							errs = append(errs, fmt.Sprintf("%s: %s: %v", label, a.GetTypeUrl(), err))
						}
					}
					visit(un)
					return
				}
				visit(inner)
			})
		})
	}
	visit(msg)
	return errs
}

func collectSecretRefs(l *listener.Listener, refs map[string]bool) {
	for _, fc := range l.GetFilterChains() {
		ts := fc.GetTransportSocket()
		if ts == nil || ts.GetTypedConfig() == nil {
			continue
		}
		var ctx tls.DownstreamTlsContext
		if err := ts.GetTypedConfig().UnmarshalTo(&ctx); err != nil {
			continue
		}
		for _, sds := range ctx.GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs() {
			refs[sds.GetName()] = true
		}
	}
}

func resourceName(m proto.Message) string {
	switch r := m.(type) {
	case *listener.Listener:
		return r.GetName()
	case *route.RouteConfiguration:
		return r.GetName()
	case *cluster.Cluster:
		return r.GetName()
	case *endpoint.ClusterLoadAssignment:
		return r.GetClusterName()
	case *tls.Secret:
		return r.GetName()
	case *hcm.HttpConnectionManager:
		return r.GetStatPrefix()
	}
	return ""
}
