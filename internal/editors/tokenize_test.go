package editors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// grammarPath is the grammar under test.
var grammarPath = filepath.Join("..", "..", "editors", "vscode", "syntaxes", "gxl.tmLanguage.json")

// token is one token of a tokenised line: its text and its scopes,
// outermost first (source.gxl ... innermost).
type token struct {
	Text   string   `json:"t"`
	Scopes []string `json:"s"`
}

// tokenized is a file's tokens, one slice per line.
type tokenized [][]token

// nodeModules returns the folder of the npm packages, installing them on
// the first use (scripts/install-npm-tools.sh). Without node the test is
// skipped: `make deps` installs it.
func nodeModules(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found: the grammar tests tokenise with vscode-textmate under Node.js; run ./scripts/install-deps.sh (make deps) to install it")
	}
	script, _ := filepath.Abs(filepath.Join("..", "..", "scripts", "install-npm-tools.sh"))
	cmd := exec.Command("bash", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	return filepath.Join(strings.TrimSpace(string(out)), "node_modules")
}

// tokenize tokenises files with the grammar (one node process for all).
func tokenize(t *testing.T, files ...string) map[string]tokenized {
	t.Helper()
	mods := nodeModules(t)
	cmd := exec.Command("node", append([]string{filepath.Join("testdata", "tokenize.js"), grammarPath}, files...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tokenize.js: %v\n%s", err, stderr.String())
	}
	var res map[string]tokenized
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("tokenize.js output: %v", err)
	}
	return res
}

// tokenizeSources writes each source to a file of a temporary folder and
// tokenises them all; the result is in the order of srcs.
func tokenizeSources(t *testing.T, srcs []string) []tokenized {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, src := range srcs {
		f := filepath.Join(dir, fmt.Sprintf("s%04d.gxl", i))
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	res := tokenize(t, files...)
	out := make([]tokenized, len(files))
	for i, f := range files {
		out[i] = res[f]
	}
	return out
}

// at returns the token covering the byte column col (1-based) of line
// (1-based) in src, or nil. Columns are bytes in Go and UTF-16 units in
// the tokeniser.
func (tk tokenized) at(src []byte, line, col int) *token {
	lines := strings.Split(string(src), "\n")
	if line < 1 || line > len(lines) || line > len(tk) {
		return nil
	}
	text := strings.TrimSuffix(lines[line-1], "\r")
	if col-1 > len(text) {
		return nil
	}
	want := len(utf16.Encode([]rune(text[:col-1])))
	off := 0
	for i := range tk[line-1] {
		n := len(utf16.Encode([]rune(tk[line-1][i].Text)))
		if want >= off && want < off+n {
			return &tk[line-1][i]
		}
		off += n
	}
	return nil
}

// find returns the n-th (0-based) token whose text is text, or nil.
func (tk tokenized) find(text string, n int) *token {
	for _, line := range tk {
		for i := range line {
			if line[i].Text == text {
				if n == 0 {
					return &line[i]
				}
				n--
			}
		}
	}
	return nil
}

// has reports whether one of the token's scopes starts with prefix.
func (tok *token) has(prefix string) bool {
	if tok == nil {
		return false
	}
	for _, s := range tok.Scopes {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
