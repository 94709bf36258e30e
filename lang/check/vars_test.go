package check_test

import (
	"fmt"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// randomPipelines is a random acyclic graph of flows f0..f(n-1): pre and
// post flows (always of a higher index), auto_load entry and exit flows and
// #[undo] targets.
type randomPipelines struct {
	n         int
	pre, post [][]int
	auto      []string // "", "entry" or "exit"
	undo      []int    // -1: none
}

func newRandomPipelines(r *rand.Rand) *randomPipelines {
	g := &randomPipelines{n: 2 + r.Intn(6)}
	g.pre, g.post = make([][]int, g.n), make([][]int, g.n)
	g.auto, g.undo = make([]string, g.n), make([]int, g.n)
	for i := 0; i < g.n; i++ {
		for j := i + 1; j < g.n; j++ {
			switch r.Intn(5) {
			case 0:
				g.pre[i] = append(g.pre[i], j)
			case 1:
				g.post[i] = append(g.post[i], j)
			}
		}
		r.Shuffle(len(g.pre[i]), func(a, b int) { g.pre[i][a], g.pre[i][b] = g.pre[i][b], g.pre[i][a] })
		g.auto[i] = []string{"", "", "", "", "entry", "exit"}[r.Intn(6)]
		g.undo[i] = -1
		if r.Intn(4) == 0 {
			g.undo[i] = r.Intn(g.n)
		}
	}
	return g
}

// source writes flow fi on line i+2; its body reads every variable V0..
// V(n-1) before defining Vi.
func (g *randomPipelines) source() string {
	var b strings.Builder
	b.WriteString("mod main {\n")
	for i := 0; i < g.n; i++ {
		if g.auto[i] != "" {
			fmt.Fprintf(&b, "#[auto_load(%s)] ", g.auto[i])
		}
		if g.undo[i] >= 0 {
			fmt.Fprintf(&b, "#[undo(f%d)] ", g.undo[i])
		}
		fmt.Fprintf(&b, "flow f%d", i)
		if len(g.pre[i])+len(g.post[i]) > 0 {
			b.WriteString(" : " + flowList(g.pre[i]) + " : " + flowList(g.post[i]))
		}
		b.WriteString(" {")
		for j := 0; j < g.n; j++ {
			fmt.Fprintf(&b, " Z = ${V%d};", j)
		}
		fmt.Fprintf(&b, " V%d = \"x\"; }\n", i)
	}
	b.WriteString("}\n")
	return b.String()
}

func flowList(fs []int) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = fmt.Sprintf("f%d", f)
	}
	return strings.Join(names, ", ")
}

// before runs every flow as the top-level flow the way the planner
// sequences it (entry flows, the flow's expansion, exit flows), recording
// what is defined when each flow starts.
func (g *randomPipelines) before() []map[int]bool {
	before := make([]map[int]bool, g.n)
	for i := range before {
		before[i] = map[int]bool{}
	}
	var cur map[int]bool
	var expand func(f int)
	expand = func(f int) {
		for _, p := range g.pre[f] {
			expand(p)
		}
		for v := range cur {
			before[f][v] = true
			if g.undo[f] >= 0 {
				before[g.undo[f]][v] = true
			}
		}
		cur[f] = true
		for _, p := range g.post[f] {
			expand(p)
		}
	}
	for top := 0; top < g.n; top++ {
		cur = map[int]bool{}
		for e := 0; e < g.n; e++ {
			if g.auto[e] == "entry" {
				expand(e)
			}
		}
		expand(top)
		for e := 0; e < g.n; e++ {
			if g.auto[e] == "exit" {
				expand(e)
			}
		}
	}
	return before
}

// TestFlowStartsMatchRuns: for random pipelines, the variables the checker
// reports as not defined before a flow are exactly those that no run
// defines before the flow starts.
func TestFlowStartsMatchRuns(t *testing.T) {
	reg := stdlib.Default()
	r := rand.New(rand.NewSource(1))
	use := regexp.MustCompile(`\$\{V(\d+)\}`)
	for iter := 0; iter < 500; iter++ {
		g := newRandomPipelines(r)
		src := g.source()
		_, ds := check.CheckSource("p.gxl", []byte(src), check.Options{Registry: reg})
		got := map[[2]int]bool{}
		for _, d := range ds {
			if d.Severity != diag.Error {
				continue
			}
			m := use.FindStringSubmatch(d.Summary)
			if d.Code != "undefined-var" || m == nil {
				t.Fatalf("unexpected %v in\n%s", d, src)
			}
			v, _ := strconv.Atoi(m[1])
			got[[2]int{d.Span.Start.Line - 2, v}] = true
		}
		before := g.before()
		for f := 0; f < g.n; f++ {
			for v := 0; v < g.n; v++ {
				if want := !before[f][v]; got[[2]int{f, v}] != want {
					t.Fatalf("flow f%d, ${V%d}: reported %v, want %v, in\n%s", f, v, got[[2]int{f, v}], want, src)
				}
			}
		}
	}
}

// TestFlowStartsCyclesAndOpen: in a cycle of pre and post flows (an error of its
// own) every flow of the cycle may run before every other, whatever the
// order of the declarations. A flow that may define anything (gx.read_file
// without a name) does so for the flows after it.
func TestFlowStartsCyclesAndOpen(t *testing.T) {
	reg := stdlib.Default()
	for _, tc := range []struct {
		name, src string
		want      []string // undefined-var errors: "line ${VAR}"
	}{
		{"pre", `mod main {
flow a : b { A = "x"; X = ${B}; Y = ${C}; }
flow b : a { B = "x"; Z = ${A}; }
}`, []string{"2 ${C}"}},
		{"pre-reversed", `mod main {
flow b : a { B = "x"; Z = ${A}; }
flow a : b { A = "x"; X = ${B}; Y = ${C}; }
}`, []string{"3 ${C}"}},
		{"post", `mod main {
flow a : : b { A = "x"; }
flow b : : a { Y = ${A}; Z = ${C}; }
}`, []string{"3 ${C}"}},
		{"into-cycle", `mod main {
flow top : c { }
flow c : : a { T = "x"; }
flow a : b { A = "x"; X = ${T}; }
flow b : a { Y = ${T}; W = ${A}; Z = ${Q}; }
flow lone { V = ${T}; }
}`, []string{"5 ${Q}", "6 ${T}"}},
		{"open", `mod main {
flow a : b { X = ${ANY}; }
flow b { gx.read_file("x.json"); }
flow c : : b { Y = ${ANY}; }
}`, []string{"4 ${ANY}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := check.CheckSource("c.gxl", []byte(tc.src), check.Options{Registry: reg})
			var got []string
			cycle := false
			for _, d := range ds {
				switch {
				case d.Code == "cycle":
					cycle = true
				case d.Code == "undefined-var" && d.Severity == diag.Error:
					got = append(got, fmt.Sprintf("%d %s", d.Span.Start.Line, strings.Fields(d.Summary)[1]))
				}
			}
			if !cycle && tc.name != "into-cycle" && tc.name != "open" {
				t.Errorf("no cycle reported: %v", ds)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("undefined: got %v, want %v", got, tc.want)
			}
		})
	}
}
