package main

// proxytest (v0.24.0) links every proxy-wasm host function Envoy has except a few, among them
// proxy_get_current_time_nanoseconds, and a module importing one fails to instantiate. Its
// NewWasmVMContext builds its wazero runtime and "env" host module privately, so the clock cannot be
// added to "env". Instead this file, without changing proxytest's host functions or its callback
// wrappers:
//
//  1. lets NewWasmVMContext set up its runtime (with "env") around an empty module;
//  2. instantiates, in that runtime, a host module "legate" serving the missing clock from the
//     scenario's test clock, and the filter with that one import renamed from "env" to "legate";
//  3. points proxytest's wrappers (the vmContext's guestABI) at the filter's exports.
//
// Steps 1 and 3 reach into unexported fields by name; go.sum pins the version they were written
// against, and a missing field panics with its name rather than misbehaving.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"unicode"
	"unsafe"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// defaultTimeMs is 2026-01-01T00:00:00Z, where Legate's TypeScript host's test clock starts too.
const defaultTimeMs = 1767225600000

type testClock struct{ nowNs uint64 }

// provided are the host functions served from module "legate": Envoy has them, proxytest does not.
var provided = map[string]bool{"proxy_get_current_time_nanoseconds": true}

// emptyModule is the smallest valid Wasm module: magic and version.
var emptyModule = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

func newWasmVMContext(wasm []byte, clock *testClock) (proxytest.WasmVMContext, error) {
	renamed, err := renameImports(wasm, "env", "legate", provided)
	if err != nil {
		return nil, err
	}
	vm, err := proxytest.NewWasmVMContext(emptyModule)
	if err != nil {
		return nil, err
	}
	v := reflect.ValueOf(vm).Elem()
	runtime := *(*wazero.Runtime)(unexported(v, "runtime"))
	ctx := *(*context.Context)(unexported(v, "ctx"))
	_, err = runtime.NewHostModuleBuilder("legate").
		NewFunctionBuilder().
		WithFunc(func(_ context.Context, mod api.Module, returnTime uint32) uint32 {
			if !mod.Memory().WriteUint64Le(returnTime, clock.nowNs) {
				return 6 // InvalidMemoryAccess, as Envoy answers a bad pointer
			}
			return 0
		}).
		Export("proxy_get_current_time_nanoseconds").
		Instantiate(ctx)
	if err != nil {
		return nil, err
	}
	config := wazero.NewModuleConfig().WithName("filter").WithStdout(os.Stderr).WithStderr(os.Stderr)
	mod, err := runtime.InstantiateWithConfig(ctx, renamed, config)
	if err != nil {
		return nil, err
	}
	abi := v.FieldByName("abi")
	if !abi.IsValid() {
		panic("proxytest: vmContext has no field abi")
	}
	for i := 0; i < abi.NumField(); i++ {
		export := exportName(abi.Type().Field(i).Name)
		fn := mod.ExportedFunction(export)
		if fn == nil {
			return nil, fmt.Errorf("the module does not export %s", export)
		}
		*(*api.Function)(unsafe.Pointer(abi.Field(i).UnsafeAddr())) = fn
	}
	return vm, nil
}

func unexported(v reflect.Value, name string) unsafe.Pointer {
	f := v.FieldByName(name)
	if !f.IsValid() {
		panic("proxytest: vmContext has no field " + name)
	}
	return unsafe.Pointer(f.UnsafeAddr())
}

// exportName maps a guestABI field to the export it holds: proxyOnVMStart → proxy_on_vm_start.
func exportName(field string) string {
	var b strings.Builder
	r := []rune(field)
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// renameImports rewrites the import section so that the functions in names are imported from module
// to instead of from; everything else is copied byte for byte.
func renameImports(wasm []byte, from, to string, names map[string]bool) ([]byte, error) {
	if len(wasm) < 8 {
		return nil, errors.New("not a Wasm module")
	}
	out := append([]byte{}, wasm[:8]...)
	for p := 8; p < len(wasm); {
		id := wasm[p]
		size, n := uleb(wasm[p+1:])
		start := p + 1 + n
		end := start + int(size)
		if n == 0 || end > len(wasm) {
			return nil, errors.New("truncated Wasm section")
		}
		body := wasm[start:end]
		if id == 2 {
			var err error
			if body, err = renameInSection(body, from, to, names); err != nil {
				return nil, err
			}
		}
		out = append(out, id)
		out = appendUleb(out, uint64(len(body)))
		out = append(out, body...)
		p = end
	}
	return out, nil
}

func renameInSection(body []byte, from, to string, names map[string]bool) ([]byte, error) {
	count, p := uleb(body)
	out := appendUleb(nil, count)
	for i := uint64(0); i < count; i++ {
		module, n1 := name(body[p:])
		field, n2 := name(body[p+n1:])
		if n1 == 0 || n2 == 0 {
			return nil, errors.New("truncated import")
		}
		rest := p + n1 + n2
		descEnd, err := importDescEnd(body, rest)
		if err != nil {
			return nil, err
		}
		if module == from && names[field] {
			module = to
		}
		out = appendUleb(out, uint64(len(module)))
		out = append(out, module...)
		out = append(out, body[p+n1:descEnd]...)
		p = descEnd
	}
	return out, nil
}

// importDescEnd is where the import description starting at p ends (kind byte, then its payload).
func importDescEnd(body []byte, p int) (int, error) {
	if p >= len(body) {
		return 0, errors.New("truncated import")
	}
	kind := body[p]
	p++
	limits := func(p int) int {
		flags := body[p]
		_, n := uleb(body[p+1:])
		p += 1 + n
		if flags&1 != 0 {
			_, n = uleb(body[p:])
			p += n
		}
		return p
	}
	switch kind {
	case 0: // function: type index
		_, n := uleb(body[p:])
		return p + n, nil
	case 1: // table: reference type, limits
		return limits(p + 1), nil
	case 2: // memory: limits
		return limits(p), nil
	case 3: // global: value type, mutability
		return p + 2, nil
	}
	return 0, fmt.Errorf("unknown import kind %d", kind)
}

func name(b []byte) (string, int) {
	size, n := uleb(b)
	if n == 0 || n+int(size) > len(b) {
		return "", 0
	}
	return string(b[n : n+int(size)]), n + int(size)
}

func uleb(b []byte) (uint64, int) {
	var v uint64
	for i, shift := 0, 0; i < len(b) && shift < 64; i, shift = i+1, shift+7 {
		v |= uint64(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

func appendUleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
