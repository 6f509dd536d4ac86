package main

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
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
