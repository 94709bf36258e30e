package check_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// scaleShapes generate programs of about n statements in the shapes that
// used to grow faster than their size. Nesting is capped below
// limits.MaxNesting: deeper input is a syntax error (TestNestingLimit).
var scaleShapes = map[string]func(b *strings.Builder, n int){
	"nested-ifs": func(b *strings.Builder, n int) {
		b.WriteString("mod main {\n A = \"x\";\n flow f {\n")
		for done := 0; done < n; done += 100 {
			for i := 0; i < 100; i++ {
				fmt.Fprintf(b, "if defined(${V%d}) && ${MAIN_A} == \"x\" {\n", i)
			}
			b.WriteString("gx.echo(\"x\");\n" + strings.Repeat("}\n", 100))
		}
		b.WriteString("}\n}\n")
	},
	"nested-parens": func(b *strings.Builder, n int) {
		b.WriteString("mod main {\n A = \"x\";\n flow f {\n")
		for done := 0; done < n; done += 100 {
			b.WriteString("if " + strings.Repeat("(", 100) + "${MAIN_A} == \"x\"" + strings.Repeat(")", 100) + " { gx.echo(\"x\"); }\n")
		}
		b.WriteString("}\n}\n")
	},
	"nested-lists": func(b *strings.Builder, n int) {
		b.WriteString("mod main {\n flow f {\n")
		for done := 0; done < n; done += 100 {
			b.WriteString("X = " + strings.Repeat("[{ a: ", 50) + "1" + strings.Repeat("}]", 50) + ";\n")
		}
		b.WriteString("}\n}\n")
	},
	"else-if-chain": func(b *strings.Builder, n int) {
		b.WriteString("mod main {\n flow f {\nif defined(${X}) { gx.echo(\"0\"); }")
		for i := 0; i < n; i++ {
			fmt.Fprintf(b, " else if defined(${V%d}) && ${V%d} == \"%d\" { W%d = \"a\"; }\n", i, i, i, i)
		}
		b.WriteString("}\n}\n")
	},
	"many-flows": func(b *strings.Builder, n int) {
		b.WriteString("mod main {\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(b, "flow f%d { V%d = \"%d\"; gx.echo(\"${V%d}\"); }\n", i, i, i, i)
		}
		b.WriteString("}\n")
	},
	// Each flow's pre flow defines what it reads; what it also reads from
	// the flow after it is defined, but not before (a warning-free miss).
	"pre-chain": func(b *strings.Builder, n int) {
		b.WriteString("mod main {\n")
		for i := 0; i < n-1; i++ {
			fmt.Fprintf(b, "flow f%d : f%d { V%d = \"${V%d}${V%d}\"; }\n", i, i+1, i, i+1, i-1)
		}
		fmt.Fprintf(b, "flow f%d { V%d = \"x\"; }\n}\n", n-1, n-1)
	},
	// Levels of two flows, each with both flows of the level below as pre
	// flows.
	"pre-diamond": func(b *strings.Builder, n int) {
		b.WriteString("mod main {\nflow a0 { A0 = \"x\"; }\nflow b0 { B0 = \"x\"; }\n")
		for i := 1; i < n/2; i++ {
			for _, x := range []string{"a", "b"} {
				fmt.Fprintf(b, "flow %s%d : a%d, b%d { %s%d = \"${A%d}${B%d}${A%d}\"; }\n", x, i, i-1, i-1, strings.ToUpper(x), i, i-1, i-1, i+1)
			}
		}
		b.WriteString("}\n")
	},
	"interpolations": func(b *strings.Builder, n int) {
		b.WriteString("mod main {\n A = \"x\";\n flow f {\n gx.echo(\"")
		for i := 0; i < n; i++ {
			b.WriteString("a${MAIN_A}")
		}
		b.WriteString("\");\n}\n}\n")
	},
}

func scaleProgram(shape string, n int) []byte {
	var b strings.Builder
	scaleShapes[shape](&b, n)
	return []byte(b.String())
}

// TestCheckScalesLinearly: parsing and checking ten times more input
// allocates about ten times more, in every shape. Allocation counts are
// deterministic, so this measures the work without timing anything.
func TestCheckScalesLinearly(t *testing.T) {
	if testing.Short() {
		t.Skip("checks programs of 10,000 statements")
	}
	reg := stdlib.Default()
	for shape := range scaleShapes {
		t.Run(shape, func(t *testing.T) {
			// Allocations and allocated bytes, both deterministic.
			allocs := func(n int) (count, bytes float64) {
				src := scaleProgram(shape, n)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				count = testing.AllocsPerRun(1, func() {
					_, ds := check.CheckSource("s.gxl", src, check.Options{Registry: reg})
					if ds.HasErrors() {
						t.Fatalf("n=%d: %v", n, ds.Errors()[0])
					}
				})
				runtime.ReadMemStats(&after)
				return count, float64(after.TotalAlloc-before.TotalAlloc) / 2
			}
			smallN, smallB := allocs(1000)
			largeN, largeB := allocs(10000)
			if ratio := largeN / smallN; ratio > 12 {
				t.Errorf("10x the input makes %.1fx the allocations (%.0f → %.0f)", ratio, smallN, largeN)
			}
			// Bytes: buffers grow by doubling, which can add up to 2x.
			if ratio := largeB / smallB; ratio > 20 {
				t.Errorf("10x the input allocates %.1fx the bytes (%.0f → %.0f)", ratio, smallB, largeB)
			}
			t.Logf("10x the input: %.1fx the allocations, %.1fx the bytes", largeN/smallN, largeB/smallB)
		})
	}
}

// BenchmarkCheckScale parses and checks each shape at 1k, 10k and 100k
// statements: ns/op should grow tenfold per size.
func BenchmarkCheckScale(b *testing.B) {
	reg := stdlib.Default()
	for _, shape := range []string{"nested-ifs", "nested-parens", "nested-lists", "else-if-chain", "many-flows", "pre-chain", "pre-diamond", "interpolations"} {
		for _, n := range []int{1000, 10000, 100000} {
			src := scaleProgram(shape, n)
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				b.SetBytes(int64(len(src)))
				for i := 0; i < b.N; i++ {
					check.CheckSource("s.gxl", src, check.Options{Registry: reg})
				}
			})
		}
	}
}
