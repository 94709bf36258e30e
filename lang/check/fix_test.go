package check_test

import (
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestDidYouMeanFixes checks that every did-you-mean the checker suggests
// carries its fix, that the fix's span holds the misspelt text, and that
// applying it makes the diagnostic go away (the code actions of gxl lsp).
func TestDidYouMeanFixes(t *testing.T) {
	tests := []struct {
		code, src, want string
	}{
		{"unknown-builtin", `mod main { flow a { gx.ecoh("x"); } }`, "gx.echo"},
		{"unknown-builtin", `mod main { flow a { rg.echo("x"); } }`, "gx.echo"},
		{"unknown-mod", `mod lib { fn f() { } } mod main { flow a { lbi.f(); } }`, "lib"},
		{"unknown-fn", `mod lib { fn fetch() { } } mod main { flow a { lib.fecth(); } }`, "fetch"},
		{"unknown-arg", `mod main { flow a { gx.echo(vlaue: "x"); } }`, "value"},
		{"unknown-arg", `mod main { fn f(who) { } flow a { f(woh: "x"); } }`, "who"},
		{"arg-value", `mod main { flow a { gx.tpl(tpl: "a", dst: "b", engine: "hlem"); } }`, "helm"},
		{"unknown-mod", `mod base { } mod main : bsae { }`, "base"},
		{"unknown-flow", `mod main { flow build { } flow a : biuld { } }`, "build"},
		{"unknown-flow", `mod lib { flow build { } } mod main { flow a : lib.biuld { } }`, "build"},
		{"unknown-mod", `mod lib { flow build { } } mod main { flow a : lbi.build { } }`, "lib"},
		{"unknown-env", `mod envs { env prod { } env x : prdo { } }`, "prod"},
		{"unknown-annotation", `mod main { #[trasaction] flow a { } }`, "transaction"},
		{"undefined-var", `mod main { flow a { tag = "1"; gx.echo("${TGA}"); } }`, "TAG"},
	}
	reg := stdlib.Default()
	for _, tt := range tests {
		t.Run(tt.code+" "+tt.want, func(t *testing.T) {
			_, ds := check.CheckSource("w.gxl", []byte(tt.src), check.Options{Registry: reg})
			var d *diag.Diagnostic
			for i := range ds {
				if ds[i].Code == tt.code {
					d = &ds[i]
				}
			}
			if d == nil {
				t.Fatalf("no %s diagnostic in %v", tt.code, ds)
			}
			if d.Fix == nil {
				t.Fatalf("%s has no fix (hint %q)", d.Summary, d.Hint)
			}
			f := d.Fix
			if got := tt.src[f.Span.Start.Offset:f.Span.End.Offset]; got != f.Old {
				t.Fatalf("fix span holds %q, want %q", got, f.Old)
			}
			if f.New != tt.want {
				t.Fatalf("fix writes %q, want %q", f.New, tt.want)
			}
			if f.Span.End.Col-f.Span.Start.Col != len(f.Old) {
				t.Fatalf("fix span columns %v..%v for %q", f.Span.Start, f.Span.End, f.Old)
			}
			fixed := tt.src[:f.Span.Start.Offset] + f.New + tt.src[f.Span.End.Offset:]
			_, ds = check.CheckSource("w.gxl", []byte(fixed), check.Options{Registry: reg})
			for _, d := range ds {
				if d.Code == tt.code {
					t.Errorf("after the fix %q still: %v", fixed, d)
				}
			}
		})
	}
}
