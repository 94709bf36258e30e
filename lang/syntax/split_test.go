package syntax

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/gxl-dev/gxl/internal/testprog"
)

// parseBoth parses src the ordinary way (one piece, tokens copied by
// lexer.Upgrade) and with tokens read in place in pieces of every size from
// 1 to 5, cutting every body however small.
func parseBoth(t testing.TB, src []byte) {
	t.Helper()
	defer func(m, p int, in bool) { splitMin, splitPieces, peekingInPlace = m, p, in }(splitMin, splitPieces, peekingInPlace)
	// The reference: one piece, tokens copied by lexer.Upgrade.
	splitPieces, peekingInPlace = 1, false
	want, wantD := Parse("f.gxl", src)
	peekingInPlace = true
	splitMin = 0
	for n := 1; n <= 5; n++ {
		splitPieces = n
		got, gotD := Parse("f.gxl", src)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%d pieces: the tree differs from the ordinary parse\n%s", n, src)
		}
		if !reflect.DeepEqual(gotD, wantD) {
			t.Fatalf("%d pieces: diagnostics differ:\n%v\nwant\n%v", n, gotD, wantD)
		}
	}
}

// TestPeekingLayout: the participle compiled in has the PeekingLexer layout
// peekingView mirrors, so tokens are read in place (parseBoth checks that
// the trees are the same either way). When this fails after a participle
// upgrade, parsing still works through lexer.Upgrade, only slower: update
// peekingView to the new fields.
func TestPeekingLayout(t *testing.T) {
	if !peekingInPlace {
		t.Fatalf("lexer.PeekingLexer no longer matches peekingView: %v", reflect.TypeOf(lexer.PeekingLexer{}))
	}
	type other struct {
		lexer.Checkpoint
		tokens []lexer.Token
		elide  map[lexer.TokenType]int
	}
	if sameLayout(reflect.TypeOf(lexer.PeekingLexer{}), reflect.TypeOf(other{})) {
		t.Fatal("sameLayout accepted a field of another type")
	}
}

// TestSplitParseSame: a file parsed in pieces on several cores gives the
// very tree (positions included) and diagnostics of the ordinary parse,
// for every corpus and shipped workflow, a generated program, and the
// shapes a cut must respect (trailing `;` and `,`, annotations, objects,
// extern blocks, comments, several modules).
func TestSplitParseSame(t *testing.T) {
	var files []string
	files = append(files, corpusFiles(t)...)
	for _, root := range []string{"../../sys", "../../modules", "../../testdata/run"} {
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && strings.HasSuffix(p, ".gxl") {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 20 {
		t.Fatalf("only %d files", len(files))
	}
	for _, p := range files {
		src, _ := os.ReadFile(p)
		t.Run(p, func(t *testing.T) { parseBoth(t, src) })
	}
	shapes := map[string]string{
		"generated":  string(testprog.Generate(400)),
		"semis":      "mod m { a = 1; ; b = { k: 1 } ; c = [1, 2], d = 2 flow f { } ; flow g { x = 1; } ;; }",
		"anns":       "mod m { #[usage(desp=\"a\")] #[task] flow f { } #[dryrun(g)] flow h { } flow g { } }",
		"extern":     "extern mod a, b { path = \"./x\"; } mod m { flow f { } flow g { } } mod n : m { env e : m.x { } fn k(a, *b = 1) { } }",
		"comments":   "mod m { // one\n flow f { } /* two */ flow g { } # three\n activity a { p; q = 1; } }",
		"pipes":      "mod m { flow a | @b | c { } flow d : a, b : c ; flow e : a ; }",
		"errors":     "mod m { flow f { } flow g { x = ; } flow h { } }",
		"error last": "mod m { flow f { } flow g { } flow h { x = ; } }\nmod n { flow k { } }",
		"error end":  "mod m { flow f { } flow g { } flow h { } x = }",
		"unclosed":   "mod m { flow f { } flow g { if ${A} == 1 { } flow h { } ",
		"stray":      "mod m { flow f { } } } mod n { flow g { } }",
		"mismatch":   "mod m { flow f { ( } flow g { } }",
	}
	for name, src := range shapes {
		t.Run(name, func(t *testing.T) { parseBoth(t, []byte(src)) })
	}
}

// TestSplitTaken: a large file really is parsed in pieces (the test above
// would pass if nothing were ever cut).
func TestSplitTaken(t *testing.T) {
	defer func(m, p int) { splitMin, splitPieces = m, p }(splitMin, splitPieces)
	splitMin, splitPieces = 4000, 2
	var one strings.Builder // one module of 1,200 flows: its body is cut
	one.WriteString("mod main {\n")
	for i := 0; i < 1200; i++ {
		fmt.Fprintf(&one, "    flow s%d { gx.echo(\"step %d\"); }\n", i, i)
	}
	one.WriteString("}\n")
	for name, src := range map[string][]byte{
		"many modules": testprog.Generate(2000),
		"one module":   []byte(one.String()),
	} {
		toks := newScanner("g.gxl", src).all()
		if len(toks) < splitMin {
			t.Fatalf("%s: only %d tokens", name, len(toks))
		}
		if g := parseSplit(toks); g == nil {
			t.Fatalf("%s: a large valid file was not parsed in pieces", name)
		}
		parseBoth(t, src)
	}
}
