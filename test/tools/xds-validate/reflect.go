package main

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

type (
	protoreflectFieldDescriptor = protoreflect.FieldDescriptor
	protoreflectValue           = protoreflect.Value
)

// walkField calls fn for every message held by a field (singular, repeated or map value).
func walkField(fd protoreflect.FieldDescriptor, v protoreflect.Value, fn func(proto.Message)) bool {
	switch {
	case fd.IsList() && fd.Message() != nil:
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			fn(l.Get(i).Message().Interface())
		}
	case fd.IsMap() && fd.MapValue().Message() != nil:
		v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
			fn(mv.Message().Interface())
			return true
		})
	case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
		fn(v.Message().Interface())
	}
	return true
}

// deprecatedUse names a set field that is deprecated, or a deprecated enum value it holds ("" if
// neither): what Envoy counts in runtime.deprecated_feature_use and warns about.
func deprecatedUse(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	if o, ok := fd.Options().(*descriptorpb.FieldOptions); ok && o.GetDeprecated() {
		return fmt.Sprintf("deprecated field %s is set", fd.FullName())
	}
	if fd.Enum() == nil || fd.IsMap() {
		return ""
	}
	check := func(n protoreflect.EnumNumber) string {
		ev := fd.Enum().Values().ByNumber(n)
		if ev == nil {
			return ""
		}
		if o, ok := ev.Options().(*descriptorpb.EnumValueOptions); ok && o.GetDeprecated() {
			return fmt.Sprintf("deprecated value %s of %s", ev.Name(), fd.FullName())
		}
		return ""
	}
	if fd.IsList() {
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			if what := check(l.Get(i).Enum()); what != "" {
				return what
			}
		}
		return ""
	}
	return check(v.Enum())
}
