package runtime

import (
	"fmt"
	"os"
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/limits"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/syntax"
)

// maxExpand bounds recursive expansion: values containing ${...} are
// expanded again until stable (§2.5), but a self-referential value is an
// error, not a hang.
const maxExpand = limits.MaxExpand

// lookupRef resolves a reference for interpolation: GXL variables first,
// then the process environment (GXL wins, §2.5).
func (x *exec) lookupRef(name string) (value.Value, bool) {
	if x.plan != nil && x.plan.unknownName(name) {
		return value.Value{}, false
	}
	if v, ok := x.vars.Lookup(name); ok {
		return v, true
	}
	if s, ok := os.LookupEnv(name); ok {
		return value.Str(s), true
	}
	for _, kv := range os.Environ() {
		if i := strings.IndexByte(kv, '='); i > 0 && strings.EqualFold(kv[:i], name) {
			return value.Str(kv[i+1:]), true
		}
	}
	return value.Value{}, false
}

// missingVar builds the positioned error for an undefined variable with a
// did-you-mean hint from the variables in scope.
func (x *exec) missingVar(ref *ast.VarRef, sp diag.Span) error {
	d := diag.Errorf(sp, "undefined-var", "variable %s is not defined", ref.Source())
	var names []string
	for _, n := range x.vars.Names() {
		names = append(names, n)
	}
	if h := diag.DidYouMean(ref.Root(), names); h != "" {
		d.Hint = h
	} else {
		d.Hint = "define it, or give a default: ${" + ref.Name + ":value}"
	}
	return d
}

// interpolate expands the parts of a string literal. The result is
// derived from every value it reads, also through re-expansion, and so is
// secret when any of them is (spec I.4).
func (x *exec) interpolate(parts []ast.StrPart, sp diag.Span) (value.Value, error) {
	var b strings.Builder
	secret := false
	for _, p := range parts {
		if p.Var == nil {
			b.WriteString(p.Text)
			continue
		}
		v, ok := x.lookupRef(p.Var.Name)
		switch {
		case ok:
			secret = secret || v.Secret()
			s, err := x.expandAgain(v.String(), 1, p.Var.Span(), &secret)
			if err != nil {
				return value.Value{}, err
			}
			b.WriteString(s)
		case p.Var.Default != nil:
			b.WriteString(*p.Var.Default)
		default:
			at := p.Var.Span()
			if !at.IsValid() {
				at = sp
			}
			return value.Value{}, x.missingVar(p.Var, at)
		}
	}
	out := value.Str(b.String())
	if secret {
		out = out.AsSecret()
	}
	return out, nil
}

// expandAgain re-expands a value that itself contains ${...} (§2.5),
// setting *secret when a value it reads is secret.
func (x *exec) expandAgain(s string, depth int, sp diag.Span, secret *bool) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	if depth > maxExpand {
		return "", diag.Errorf(sp, "expand-loop", "variable expansion does not stop (a value refers to itself?)").
			WithHint("a value that contains ${...} is expanded again; break the cycle")
	}
	parts, err := syntax.ParseString(s)
	if err != nil {
		return s, nil
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Var == nil {
			b.WriteString(p.Text)
			continue
		}
		v, ok := x.lookupRef(p.Var.Name)
		switch {
		case ok:
			*secret = *secret || v.Secret()
			r, err := x.expandAgain(v.String(), depth+1, sp, secret)
			if err != nil {
				return "", err
			}
			b.WriteString(r)
		case p.Var.Default != nil:
			b.WriteString(*p.Var.Default)
		default:
			// Text read from files or commands may hold ${...} that is not
			// meant for GXL: keep it as it is.
			b.WriteString(p.Var.Source())
		}
	}
	return b.String(), nil
}

// InterpolateString expands ${...} in a run-time string.
func (x *exec) InterpolateString(s string) (string, error) {
	parts, err := syntax.ParseString(s)
	if err != nil {
		return "", err
	}
	v, err := x.interpolate(parts, x.site)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// rawText rebuilds a string literal with escapes processed but ${...}
// references kept, for Raw parameters (command text).
func rawText(parts []ast.StrPart) string {
	var b strings.Builder
	for _, p := range parts {
		if p.Var != nil {
			b.WriteString(p.Var.Source())
		} else {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// eval computes the value of an expression. Strings are interpolated;
// lists and objects keep their inner strings as written (§4.4).
func (x *exec) eval(e ast.Expr) (value.Value, error) {
	switch n := e.(type) {
	case *ast.StringLit:
		return x.interpolate(n.Parts, n.Span())
	case *ast.RawStringLit:
		return x.interpolate(n.Parts, n.Span())
	case *ast.NumberLit:
		if n.IsFloat {
			return value.Float(n.Float), nil
		}
		return value.Uint(n.Int), nil
	case *ast.BoolLit:
		return value.Bool(n.Value), nil
	case *ast.VarRef:
		// A bare reference copies the typed GXL value; the process
		// environment is not consulted (§2.6), but a default is (Part I).
		if v, ok := x.vars.Lookup(n.Name); ok {
			return v, nil
		}
		if n.Default != nil {
			return value.Str(*n.Default), nil
		}
		return value.Value{}, x.missingVar(n, n.Span())
	case *ast.ListLit, *ast.ObjectLit:
		return x.composite(e, x.literal)
	case *ast.Word:
		return value.Str(n.Text), nil
	case nil:
		return value.Str(""), nil
	}
	return value.Value{}, fmt.Errorf("unsupported value %T", e)
}

// composite builds a list or object value, evaluating elements with elem.
func (x *exec) composite(e ast.Expr, elem func(ast.Expr) (value.Value, error)) (value.Value, error) {
	switch n := e.(type) {
	case *ast.ListLit:
		out := make([]value.Value, 0, len(n.Elems))
		for _, el := range n.Elems {
			v, err := elem(el)
			if err != nil {
				return value.Value{}, err
			}
			out = append(out, v)
		}
		return value.List(out...), nil
	case *ast.ObjectLit:
		o := value.NewObject()
		for _, en := range n.Entries {
			v, err := elem(en.Value)
			if err != nil {
				return value.Value{}, err
			}
			o.Set(en.Key.Name, v)
		}
		return value.Obj(o), nil
	}
	return x.eval(e)
}

// literal evaluates an element of a list or object literal: strings are
// kept as written (they are expanded when read through ${...}).
func (x *exec) literal(e ast.Expr) (value.Value, error) {
	switch n := e.(type) {
	case *ast.StringLit:
		return value.Str(rawText(n.Parts)), nil
	case *ast.RawStringLit:
		return value.Str(n.Value), nil
	}
	return x.eval(e)
}
