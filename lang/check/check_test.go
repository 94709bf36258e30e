package check_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/internal/testprog"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/syntax"
	"github.com/gxl-dev/gxl/stdlib"
)

var update = flag.Bool("update", false, "rewrite the golden outputs in testdata/check")

// checkArchive loads main.gxl of an archive in a temporary folder and
// renders the diagnostics with the folder shown as $WORK.
func checkArchive(t testing.TB, ar *txtar.Archive) (string, diag.List) {
	dir := t.TempDir()
	extra := map[string]types.Type{}
	for _, f := range ar.Files {
		if f.Name == "want" {
			continue
		}
		// typed_vars: the typed system variables the check knows, one
		// "NAME: schema-type" a line (as sys/vars.yml types them).
		if f.Name == "typed_vars" {
			for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
				name, typ, _ := strings.Cut(line, ":")
				tt, ok := types.FromSchema(strings.TrimSpace(typ))
				if !ok {
					t.Fatalf("typed_vars: bad type in %q", line)
				}
				extra[strings.TrimSpace(name)] = tt
			}
			continue
		}
		p := filepath.Join(dir, f.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opt := check.Options{
		Registry:  stdlib.Default(),
		ExtraVars: extra,
		Dir:       dir,
		Env:       func(string) (string, bool) { return "", false },
		ReadFile: func(p string) ([]byte, error) {
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			return os.ReadFile(p)
		},
	}
	prog, ds := check.Load("main.gxl", opt)
	var buf bytes.Buffer
	srcs := diag.SourceMap{}
	if prog != nil {
		srcs = prog.Sources
	}
	diag.Render(&buf, ds, srcs, diag.RenderOptions{})
	if len(ds) > 0 {
		buf.WriteString("\n" + diag.Summary(ds) + "\n")
	}
	return strings.ReplaceAll(buf.String(), dir, "$WORK"), ds
}

func TestGoldenDiagnostics(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/check/*.txtar")
	if len(files) < 40 {
		t.Fatalf("only %d golden cases", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got, ds := checkArchive(t, ar)
			if !strings.HasPrefix(name, "clean_") && !strings.HasPrefix(name, "guarded_") && !strings.HasPrefix(name, "cond_wildcard") && !strings.HasPrefix(name, "var_from_pre") && len(ds) == 0 {
				t.Errorf("expected diagnostics, got none")
			}
			idx := -1
			for i, f := range ar.Files {
				if f.Name == "want" {
					idx = i
				}
			}
			if *update {
				if idx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					idx = len(ar.Files) - 1
				}
				ar.Files[idx].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if idx < 0 {
				t.Fatalf("no want section (run with -update)")
			}
			if want := string(ar.Files[idx].Data); got != want {
				t.Errorf("diagnostics differ\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

func corpusRoots(t testing.TB) []string {
	var roots []string
	filepath.Walk("../../testdata/corpus", func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Name() == "work.gxl" {
			roots = append(roots, p)
		}
		return nil
	})
	if len(roots) == 0 {
		t.Fatal("no corpus")
	}
	return roots
}

func TestCorpusChecksClean(t *testing.T) {
	for _, p := range corpusRoots(t) {
		_, ds := check.Load(p, check.Options{Registry: stdlib.Default(), Env: func(string) (string, bool) { return "", false }})
		for _, d := range ds {
			if d.Severity == diag.Error || d.Code == "undefined-var" {
				t.Errorf("%s: %v", p, d)
			}
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, p := range corpusRoots(f) {
		src, _ := os.ReadFile(p)
		f.Add(src)
	}
	files, _ := filepath.Glob("../../testdata/check/*.txtar")
	for _, file := range files {
		ar, _ := txtar.ParseFile(file)
		for _, af := range ar.Files {
			if af.Name == "main.gxl" {
				f.Add(af.Data)
			}
		}
	}
	reg := stdlib.Default()
	f.Fuzz(func(t *testing.T, src []byte) {
		_, ds := check.CheckSource("fuzz.gxl", src, check.Options{Registry: reg, ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist }})
		for _, d := range ds {
			if d.Code == "internal" {
				t.Fatalf("internal error: %v", d)
			}
		}
	})
}

// BenchmarkParseCheck parses, links and checks a generated 100,000-line
// program; the MB/s figure is the target metric.
func BenchmarkParseCheck(b *testing.B) {
	src := testprog.Generate(100000)
	reg := stdlib.Default()
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, ds := check.CheckSource("bench.gxl", src, check.Options{Registry: reg})
		if ds.HasErrors() {
			b.Fatal(ds.Errors()[0])
		}
	}
}

func TestCheckStmts(t *testing.T) {
	reg := stdlib.Default()
	prog, ds := check.CheckSource("w.gxl", []byte(`mod main { fn greet(*who) { gx.echo("hi ${who}"); } flow f { } }`), check.Options{Registry: reg})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	tests := []struct {
		src  string
		want string // "" = clean
	}{
		{`gx.echo("x");`, ""},
		{`greet("bob");`, ""},
		{`gx.ech("x");`, "unknown built-in `gx.ech`"},
		{`gx.echo(vlaue: "x");`, "has no argument `vlaue`"},
		{`grete("bob");`, "unknown fn or activity `grete`"},
		{`f();`, "flows cannot be called"},
		{`if ${A} == "x" { gx.cmd(); }`, "missing required argument"},
	}
	for _, tt := range tests {
		stmts, pd := syntax.ParseStmts("repl", []byte(tt.src), diag.Pos{File: "repl", Line: 3, Col: 1})
		if pd.HasErrors() {
			t.Fatalf("%s: %v", tt.src, pd)
		}
		got := prog.CheckStmts(nil, stmts)
		if tt.want == "" {
			if got.HasErrors() {
				t.Errorf("%s: %v", tt.src, got)
			}
			continue
		}
		if !got.HasErrors() || !strings.Contains(fmt.Sprint(got), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.src, got, tt.want)
			continue
		}
		if got[0].Span.Start.File != "repl" || got[0].Span.Start.Line != 3 {
			t.Errorf("%s: position %v", tt.src, got[0].Span.Start)
		}
	}
}
