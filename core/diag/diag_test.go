package diag

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRender(t *testing.T) {
	src := SourceMap{"w.gxl": []byte("mod main {\n\tflow deploy : bulid {\n\t}\n}\n")}
	d := Errorf(Span{Start: Pos{File: "w.gxl", Line: 2, Col: 16, Offset: 26}, End: Pos{File: "w.gxl", Line: 2, Col: 21, Offset: 31}},
		"unknown-flow", "unknown flow `bulid`").WithHint("did you mean `build`?")
	var buf bytes.Buffer
	Render(&buf, List{d, d}, src, RenderOptions{})
	want := "w.gxl:2:16: error: unknown flow `bulid`\n" +
		" 2 |  flow deploy : bulid {\n" +
		"   |                ^^^^^\n" +
		"  = hint: did you mean `build`?\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestNormalizeSortsAndDedups(t *testing.T) {
	p := func(line int) Span { return Span{Start: Pos{File: "a", Line: line, Col: 1}} }
	l := List{Errorf(p(3), "x", "c"), Warnf(p(1), "y", "a"), Errorf(p(3), "x", "c"), Errorf(p(2), "x", "b")}
	n := l.Normalize()
	var got []string
	for _, d := range n {
		got = append(got, d.Summary)
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("got %v", got)
	}
	if !l.HasErrors() || List(n[:1]).HasErrors() {
		t.Fatal("HasErrors wrong")
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		name  string
		cands []string
		want  string
	}{
		{"bulid", []string{"build", "deploy"}, "build"},
		{"DEPLOY", []string{"build", "deploy"}, "deploy"},
		{"zzz", []string{"build", "deploy"}, ""},
		{"gx.ech", []string{"gx.echo", "gx.cmd"}, "gx.echo"},
	}
	for _, tt := range tests {
		if got := Suggest(tt.name, tt.cands); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRenderJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderJSON(&buf, List{Errorf(Span{Start: Pos{File: "f", Line: 1, Col: 2}}, "c", "s")}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"severity": "error"`) || !strings.Contains(buf.String(), `"line": 1`) {
		t.Fatalf("json: %s", buf.String())
	}
}

// TestRenderMultilineAndNotes: a summary of several lines shows its first
// line in the header and the rest indented below the source line; notes
// follow the hint.
func TestRenderMultilineAndNotes(t *testing.T) {
	src := SourceMap{"w.gxl": []byte("mod main {\n\tflow f { gx.cmd(\"exit 3\"); }\n}\n")}
	d := Errorf(Span{Start: Pos{File: "w.gxl", Line: 2, Col: 11}, End: Pos{File: "w.gxl", Line: 2, Col: 26}},
		"step", "gx.cmd: command failed with exit status 3: exit 3\nboom\nbang").
		WithHint("look at the output").WithNote("flow stack: main.f").WithNote("resume with: gxl run --resume x")
	var buf bytes.Buffer
	RenderOne(&buf, d, src, RenderOptions{})
	want := "w.gxl:2:11: error: gx.cmd: command failed with exit status 3: exit 3\n" +
		" 2 |  flow f { gx.cmd(\"exit 3\"); }\n" +
		"   |           ^^^^^^^^^^^^^^^\n" +
		"    boom\n" +
		"    bang\n" +
		"  = hint: look at the output\n" +
		"  = flow stack: main.f\n" +
		"  = resume with: gxl run --resume x\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestSnippetWindow: a long source line is shown as a window of about
// snippetWidth columns around the caret, with "…" where text was cut; bytes
// that are not UTF-8 are shown as U+FFFD.
func TestSnippetWindow(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	tests := []struct {
		name, line string
		col, end   int
		wantLine   string // the shown text after "| "
		wantCaret  string // the caret line after "| "
	}{
		{"short line", "x = 1;", 5, 6, "x = 1;", "    ^"},
		{"start of a long line", "bad" + long, 1, 4, "bad" + strings.Repeat("a", snippetWidth-3) + "…", "^^^"},
		{"middle of a long line", long + "BAD" + long, 1<<20 + 1, 1<<20 + 4,
			"…" + strings.Repeat("a", snippetWidth/3) + "BAD" + strings.Repeat("a", snippetWidth-snippetWidth/3-3) + "…",
			strings.Repeat(" ", snippetWidth/3+1) + "^^^"},
		{"end of a long line", long, 1<<20 + 1, 1<<20 + 1, "…" + strings.Repeat("a", snippetWidth), strings.Repeat(" ", snippetWidth+1) + "^"},
		{"span longer than the window", long, 1, 1<<20 + 1, strings.Repeat("a", snippetWidth) + "…", strings.Repeat("^", snippetWidth)},
		{"invalid UTF-8", "a = \"caf\xe9\";", 10, 11, "a = \"caf\uFFFD\";", "         ^"},
		{"tabs and multi-byte text", "\té = ${X}", 7, 11, " é = ${X}", "     ^^^^"},
		// Wide characters take two columns, a character written with a
		// combining accent or an emoji with a skin tone one character.
		{"CJK before the caret", "x = \"中文\"; = 1;", 15, 16, "x = \"中文\"; = 1;", strings.Repeat(" ", 12) + "^"},
		{"CJK under the caret", "x = \"中文\";", 6, 12, "x = \"中文\";", "     ^^^^"},
		{"emoji with a modifier", "x = \"👍🏽\"; = 1;", 17, 18, "x = \"👍🏽\"; = 1;", strings.Repeat(" ", 10) + "^"},
		{"combining accent", "x = \"e\u0301\"; = 1;", 12, 13, "x = \"e\u0301\"; = 1;", strings.Repeat(" ", 9) + "^"},
		{"control characters drawn as symbols", "x = \"\x1b[31m\x00\"; = 1;", 15, 16, "x = \"\u241b[31m\u2400\"; = 1;", strings.Repeat(" ", 14) + "^"},
		{"long line of wide characters", strings.Repeat("中", 300) + "; = 1;", 903, 904,
			// the window ends with the line: it shows the last 120 columns
			"…" + strings.Repeat("中", (snippetWidth-6)/2) + "; = 1;", strings.Repeat(" ", 1+snippetWidth-4) + "^"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := SourceMap{"w.gxl": []byte(tt.line + "\n")}
			d := Errorf(Span{Start: Pos{File: "w.gxl", Line: 1, Col: tt.col}, End: Pos{File: "w.gxl", Line: 1, Col: tt.end}}, "x", "m")
			var buf bytes.Buffer
			RenderOne(&buf, d, src, RenderOptions{})
			lines := strings.Split(buf.String(), "\n")
			if len(lines) < 3 {
				t.Fatalf("got %q", buf.String())
			}
			if got := strings.TrimPrefix(lines[1], " 1 | "); got != tt.wantLine {
				t.Errorf("line: got %.300q, want %.300q", got, tt.wantLine)
			}
			if got := strings.TrimPrefix(lines[2], "   | "); got != tt.wantCaret {
				t.Errorf("caret: got %.300q, want %.300q", got, tt.wantCaret)
			}
			if buf.Len() > 4*snippetWidth+100 {
				t.Errorf("rendered %d bytes", buf.Len())
			}
		})
	}
}

// TestNoPosition: a diagnostic without a file is about the command line:
// rendered and printed as an error without a position prefix ("-:").
func TestNoPosition(t *testing.T) {
	d := Errorf(Span{}, "unknown-flow", "flow %q not found in module main", "b").WithHint("flows of main: a")
	var buf bytes.Buffer
	RenderOne(&buf, d, nil, RenderOptions{})
	for _, tc := range []struct{ got, want string }{
		{buf.String(), "error: flow \"b\" not found in module main\n  = hint: flows of main: a\n"},
		{d.Error(), "flow \"b\" not found in module main (hint: flows of main: a)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestLongMessageClipped: a message, hint or note line that quotes a huge
// value is shown by its start and end; the JSON keeps it whole.
func TestLongMessageClipped(t *testing.T) {
	big := strings.Repeat("é", 1<<19) // 1 MB
	d := Errorf(Span{}, "x", "value %q is not the expected \"b\"", big).WithHint("hint %s", big)
	d.Notes = []string{"note " + big}
	var buf bytes.Buffer
	RenderOne(&buf, d, nil, RenderOptions{})
	out := buf.String()
	if len(out) > 4*maxMessage {
		t.Errorf("rendered %d bytes", len(out))
	}
	if !utf8.ValidString(out) || !strings.Contains(out, "bytes left out)…") || !strings.Contains(out, "is not the expected \"b\"") {
		t.Errorf("got %.300q", out)
	}
	var js bytes.Buffer
	if err := RenderJSON(&js, List{d}); err != nil || js.Len() < 1<<20 {
		t.Errorf("JSON: %d bytes, %v", js.Len(), err)
	}
}
