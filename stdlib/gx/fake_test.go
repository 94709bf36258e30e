package gx

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/mask"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"go.uber.org/zap"
)

type valueAlias = value.Value

func strV(s string) value.Value { return value.Str(s) }

// fakeCtx is a minimal builtin.Ctx for unit tests.
type fakeCtx struct {
	dir  string
	vars map[string]value.Value
	out  strings.Builder
	in   string
	rd   io.Reader
	site diag.Span
}

func newFakeCtx(dir string) *fakeCtx { return &fakeCtx{dir: dir, vars: map[string]value.Value{}} }

func (f *fakeCtx) Context() context.Context { return context.Background() }
func (f *fakeCtx) Lookup(n string) (value.Value, bool) {
	v, ok := f.vars[strings.ToLower(n)]
	return v, ok
}
func (f *fakeCtx) Set(n string, v value.Value)          { f.vars[strings.ToLower(n)] = v }
func (f *fakeCtx) Vars() map[string]value.Value         { return f.vars }
func (f *fakeCtx) Interpolate(s string) (string, error) { return s, nil }
func (f *fakeCtx) Stdout() io.Writer                    { return &f.out }
func (f *fakeCtx) Stderr() io.Writer                    { return &f.out }
func (f *fakeCtx) Stdin() io.Reader {
	if f.rd == nil {
		f.rd = strings.NewReader(f.in)
	}
	return f.rd
}
func (f *fakeCtx) Logf(string, ...any)               {}
func (f *fakeCtx) Logger() *zap.Logger               { return zap.NewNop() }
func (f *fakeCtx) Warn(diag.List, diag.Sources)      {}
func (f *fakeCtx) Warnf(string, ...any)              {}
func (f *fakeCtx) Mask(s string) string              { return s }
func (f *fakeCtx) Masker() *mask.Set                 { return nil }
func (f *fakeCtx) Dir() string                       { return f.dir }
func (f *fakeCtx) Environ() []string                 { return os.Environ() }
func (f *fakeCtx) DryRun() bool                      { return false }
func (f *fakeCtx) Quiet() bool                       { return true }
func (f *fakeCtx) Site() diag.Span                   { return f.site }
func (f *fakeCtx) Host() builtin.Host                { return builtin.Host{} }
func (f *fakeCtx) RunNested(builtin.NestedRun) error { return nil }

// args converts string arguments through the registry like the runtime.
func args(t *testing.T, name string, in map[string]string) builtin.Args {
	r := builtin.NewRegistry()
	Register(r)
	b, _ := r.Lookup(name)
	vals := map[string]value.Value{}
	for k, v := range in {
		p := b.Param(k)
		if p == nil {
			t.Fatalf("%s has no %s", name, k)
		}
		cv, err := builtin.Convert(p.Type, value.Str(v))
		if err != nil {
			t.Fatal(err)
		}
		vals[p.Name] = cv
	}
	for _, p := range b.Params {
		if _, ok := vals[p.Name]; !ok && p.Default.IsValid() {
			vals[p.Name] = p.Default
		}
	}
	return builtin.NewArgs(b, vals)
}
