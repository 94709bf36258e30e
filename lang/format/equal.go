package format

import (
	"reflect"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/ast"
)

// SameTree reports whether two parses of a file have the same meaning: the
// same trees and the same comment texts, ignoring positions and the raw
// source. `gxl fmt` refuses to write a result for which this is false.
func SameTree(a, b *ast.File) bool {
	if len(a.Comments) != len(b.Comments) {
		return false
	}
	for i := range a.Comments {
		if CommentText(a.Comments[i]) != CommentText(b.Comments[i]) {
			return false
		}
	}
	return equalValue(reflect.ValueOf(a.Items), reflect.ValueOf(b.Items))
}

var (
	spanType  = reflect.TypeOf(diag.Span{})
	posType   = reflect.TypeOf(diag.Pos{})
	spType    = reflect.TypeOf(ast.Sp{})
	groupType = reflect.TypeOf(ast.AnnGroup(0))
	annsType  = reflect.TypeOf([]*ast.Annotation{})
)

func equalValue(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Type() {
	case spanType, posType, spType, groupType:
		return true
	case annsType:
		// Groups are numbered by position: the same grouping is the same
		// pattern of neighbours sharing a group.
		for i := 1; i < a.Len() && i < b.Len(); i++ {
			ga, gb := a.Index(i).Interface().(*ast.Annotation), b.Index(i).Interface().(*ast.Annotation)
			pa, pb := a.Index(i-1).Interface().(*ast.Annotation), b.Index(i-1).Interface().(*ast.Annotation)
			if ga == nil || gb == nil || pa == nil || pb == nil {
				continue
			}
			if (ga.Group == pa.Group) != (gb.Group == pb.Group) {
				return false
			}
		}
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equalValue(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !equalValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !equalValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if !equalValue(a.MapIndex(k), b.MapIndex(k)) {
				return false
			}
		}
		return true
	default:
		if !a.CanInterface() {
			return true
		}
		return reflect.DeepEqual(a.Interface(), b.Interface())
	}
}
