package repl

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/runtime"
)

func TestHistoryText(t *testing.T) {
	vars := runtime.NewScope()
	vars.Set("SEC_KEY", value.Str("hunter2-secret"))
	vars.Set("DB_PASS", value.Str("declared-pw").AsSecret()) // secret: true
	vars.Set("REGION", value.Str("eu"))
	tests := []struct{ in, want string }{
		{`:set SEC_DB_PASS = "s3cr3t"`, `:set SEC_DB_PASS = ***`},
		{`:set sec_x = plain words; more`, `:set sec_x = ***`},
		{`:set DB_PASS = new-one`, `:set DB_PASS = ***`},
		{`:set N = 3`, `:set N = 3`},
		{`SEC_A = "x;\"y"; gx.echo("hi")`, `SEC_A = ***; gx.echo("hi")`},
		{`db_pass = other; region = "us";`, `db_pass = ***; region = "us";`},
		{`x = "a"; SEC_B=bare`, `x = "a"; SEC_B= ***`},
		{"SEC_M = \"line1\nline2\"; y = 1", `SEC_M = ***; y = 1`},
		{`gx.echo("k=hunter2-secret")`, `gx.echo("k=***")`},
		{`if ${SEC_KEY} == "abc" { gx.echo("x"); }`, `if ${SEC_KEY} == "abc" { gx.echo("x"); }`},
		{`f(pass: "${SEC_KEY}")`, `f(pass: "${SEC_KEY}")`},
		{`region = "eu"`, `region = "eu"`},
	}
	for _, tt := range tests {
		if got := historyText(tt.in, vars); got != tt.want {
			t.Errorf("historyText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHistoryFileMode(t *testing.T) {
	dir := t.TempDir()
	// A file an older gxl left readable by everyone, longer than the limit.
	path := filepath.Join(dir, "gxl", "repl_history")
	os.MkdirAll(filepath.Dir(path), 0o755)
	var old []string
	for i := range historyLimit + 5 {
		old = append(old, "line "+strconv.Itoa(i))
	}
	os.WriteFile(path, []byte(strings.Join(old, "\n")+"\n"), 0o644)
	os.Chmod(path, 0o644)
	h, lines, err := openHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != historyLimit || lines[0] != "line 5" {
		t.Fatalf("%d lines from %q", len(lines), lines[0])
	}
	h.Append("new")
	h.Close()
	st, _ := os.Stat(path)
	b, _ := os.ReadFile(path)
	if st.Mode().Perm() != 0o600 || !strings.HasSuffix(string(b), "line 1004\nnew\n") || strings.Contains(string(b), "line 4\n") {
		t.Fatalf("mode %v, content ends %q", st.Mode().Perm(), string(b)[len(b)-30:])
	}
	// A new file is created 0600.
	fresh := filepath.Join(dir, "new", "repl_history")
	h, _, err = openHistory(fresh)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o600 {
		t.Fatalf("new history file mode %v", st.Mode().Perm())
	}
}
