package lsp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/gxl-dev/gxl/lsp"
)

// A system: a system workflow, a module's workflow, typed variables.
var system = map[string]string{
	"sys/sys_model.yml": "name: shop\nmodel: x86-ubt22-k8s\nvender: t\n",
	"sys/vars.yml":      "vars:\n  - name: REPLICAS\n    value: \"3\"\n    type: integer\n    min: 1\n",
	"sys/mod_list.yml":  "- name: web\n  addr:\n    repo: https://example.invalid/web\n    tag: v1\n",
	"sys/workflows/operators.gxl": `mod main {
    #[usage(desp="build the shop")]
    flow build {
        gx.echo("building");
    }
    flow setup : build {
        WEB_PORT = "8080";
        sys.stage("setup");
        gx.echo("${WEB_PORT}");
    }
}
`,
	"sys/mods/web/workflows/operators.gxl": `mod main {
    flow setup {
        if ${REPLICAS} > 2 {
            gx.echo("${REPLICAS} replicas on ${WEB_PORT}");
        }
    }
}
`,
}

// client is an editor: it talks to a Server over a pipe and keeps the
// diagnostics published for each file.
type client struct {
	t    *testing.T
	conn *jsonrpc2.Conn
	root string

	mu    sync.Mutex
	diags map[string][]diagnostic
	seen  chan struct{}
}

type diagnostic struct {
	Range struct {
		Start struct{ Line, Character int }
		End   struct{ Line, Character int }
	}
	Severity           int
	Code               string
	Message            string
	RelatedInformation []struct{ Message string }
}

type pipeRW struct {
	io.Reader
	io.WriteCloser
}

func start(t *testing.T, files map[string]string) *client {
	t.Helper()
	return startWith(t, files, 20*time.Millisecond)
}

func startWith(t *testing.T, files map[string]string, debounce time.Duration) *client {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := lsp.New(lsp.Options{Debounce: debounce})
	if err != nil {
		t.Fatal(err)
	}
	cr, sw := io.Pipe()
	sr, cw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, pipeRW{sr, sw})
	}()
	c := &client{t: t, root: root, diags: map[string][]diagnostic{}, seen: make(chan struct{}, 100)}
	c.conn = jsonrpc2.NewConn(ctx, jsonrpc2.NewBufferedStream(pipeRW{cr, cw}, jsonrpc2.VSCodeObjectCodec{}), jsonrpc2.HandlerWithError(
		func(_ context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
			if req.Method == "textDocument/publishDiagnostics" {
				var p struct {
					URI         string
					Diagnostics []diagnostic
				}
				if err := json.Unmarshal(*req.Params, &p); err != nil {
					t.Error(err)
				}
				c.mu.Lock()
				c.diags[strings.TrimPrefix(p.URI, "file://"+root+"/")] = p.Diagnostics
				c.mu.Unlock()
				c.seen <- struct{}{}
			}
			return nil, nil
		}))
	t.Cleanup(func() {
		var none any
		_ = c.conn.Call(context.Background(), "shutdown", nil, &none)
		_ = c.conn.Notify(context.Background(), "exit", nil)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the server did not stop after exit")
		}
		cancel()
		c.conn.Close()
	})
	var init map[string]any
	c.call("initialize", map[string]any{"rootUri": "file://" + root, "capabilities": map[string]any{}}, &init)
	c.notify("initialized", map[string]any{})
	return c
}

func (c *client) uri(name string) string { return "file://" + filepath.Join(c.root, name) }

func (c *client) call(method string, params, result any) {
	c.t.Helper()
	if err := c.conn.Call(context.Background(), method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	if err := c.conn.Notify(context.Background(), method, params); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *client) open(name, text string) {
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": c.uri(name), "languageId": "gxl", "version": 1, "text": text}})
}

// wait waits until cond holds of the published diagnostics.
func (c *client) wait(what string, cond func(map[string][]diagnostic) bool) {
	c.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		ok := cond(c.diags)
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.seen:
		case <-deadline:
			c.mu.Lock()
			defer c.mu.Unlock()
			c.t.Fatalf("timed out waiting for %s; diagnostics: %+v", what, c.diags)
		}
	}
}

func hasCode(ds []diagnostic, code string) *diagnostic {
	for i := range ds {
		if ds[i].Code == code {
			return &ds[i]
		}
	}
	return nil
}

const (
	wf  = "sys/workflows/operators.gxl"
	mod = "sys/mods/web/workflows/operators.gxl"
)

func pos(line, char int) map[string]any { return map[string]any{"line": line, "character": char} }

func at(c *client, name string, line, char int) map[string]any {
	return map[string]any{"textDocument": map[string]any{"uri": c.uri(name)}, "position": pos(line, char)}
}

// TestDiagnostics: an unsaved buffer is checked as gxl check checks the
// file (same text, exact range, code), with the system's modules, and the
// diagnostics follow the edits.
func TestDiagnostics(t *testing.T) {
	c := start(t, system)
	// The buffer (not the file on disk) has a typo in the module workflow.
	typo := strings.Replace(system[mod], "gx.echo", "gx.ecoh", 1)
	c.open(mod, typo)
	c.wait("the typo", func(m map[string][]diagnostic) bool { return hasCode(m[mod], "unknown-builtin") != nil })
	d := hasCode(c.diags[mod], "unknown-builtin")
	if d.Range.Start.Line != 3 || d.Range.Start.Character != 12 || d.Range.End.Character != 19 {
		t.Errorf("range %+v, want 3:12-3:19", d.Range)
	}
	if d.Message != "unknown built-in `gx.ecoh`\nhint: did you mean `gx.echo`?" || d.Severity != 1 {
		t.Errorf("diagnostic %q severity %d", d.Message, d.Severity)
	}
	if hasCode(c.diags[mod], "undefined-var") != nil {
		t.Errorf("the module's check does not know the system's variables: %+v", c.diags[mod])
	}

	// Opening the system workflow checks its modules too: the module's
	// buffer (still with the typo) is what it reads.
	c.open(wf, system[wf])
	// A change to the module's buffer (one character) clears it.
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": c.uri(mod), "version": 2},
		"contentChanges": []any{map[string]any{"range": map[string]any{"start": pos(3, 17), "end": pos(3, 19)}, "text": "ho"}},
	})
	c.wait("no diagnostics", func(m map[string][]diagnostic) bool {
		return len(m[mod]) == 0 && len(m[wf]) == 0
	})

	// An error in vars.yml's buffer: the system workflow's check reports
	// it at vars.yml.
	c.open("sys/vars.yml", strings.Replace(system["sys/vars.yml"], "integer", "integr", 1))
	c.wait("the vars.yml error", func(m map[string][]diagnostic) bool { return len(m["sys/vars.yml"]) > 0 })
}

// TestRequests runs the language features over the system, the module
// workflow and vars.yml.
func TestRequests(t *testing.T) {
	c := start(t, system)
	c.open(wf, system[wf])
	c.open(mod, system[mod])
	tests := []struct {
		name   string
		method string
		params map[string]any
		want   []string // substrings of the JSON result
		not    []string
	}{
		{"completion of a built-in", "textDocument/completion", at(c, wf, 3, 14), []string{`"label":"gx.echo"`, `"detail":"gx.echo(`}, []string{`"label":"k8s.apply"`}},
		{"completion of a typed system variable", "textDocument/completion", at(c, mod, 2, 16), []string{`"label":"REPLICAS"`, `"detail":"int"`}, nil},
		{"completion of a variable the flow set", "textDocument/completion", at(c, wf, 8, 19), []string{`"label":"WEB_PORT"`, `"detail":"set in flow setup"`}, nil},
		{"completion of flows in a pipeline", "textDocument/completion", at(c, wf, 5, 19), []string{`"label":"build"`, `"detail":"build the shop"`}, nil},
		{"hover on a built-in", "textDocument/hover", at(c, wf, 3, 12), []string{"gx.echo(", "value"}, nil},
		{"hover on a system variable", "textDocument/hover", at(c, mod, 2, 15), []string{"${REPLICAS}: int", "sys/vars.yml:2:11", "system variable", "constraints: range"}, nil},
		{"hover on a flow", "textDocument/hover", at(c, wf, 5, 18), []string{"flow main.build", "build the shop", "usage(desp=", "operators.gxl:3:10"}, nil},
		{"definition of a variable in vars.yml", "textDocument/definition", at(c, mod, 3, 24), []string{`sys/vars.yml"`, `"start":{"line":1,"character":10}`}, nil},
		{"definition of a flow", "textDocument/definition", at(c, wf, 5, 18), []string{`"start":{"line":2,"character":9}`}, nil},
		{"references of a variable across files", "textDocument/references", withContext(at(c, mod, 2, 15), true),
			[]string{`sys/vars.yml"`, `"start":{"line":2,"character":13}`, `"start":{"line":3,"character":23}`}, nil},
		{"references of a flow", "textDocument/references", withContext(at(c, wf, 2, 10), false), []string{`"start":{"line":5,"character":17}`}, []string{`"line":2`}},
		{"rename a flow", "textDocument/rename", withName(at(c, wf, 2, 10), "compile"),
			[]string{`"start":{"line":2,"character":9},"end":{"line":2,"character":14}},"newText":"compile"`, `"start":{"line":5,"character":17},"end":{"line":5,"character":22}},"newText":"compile"`}, nil},
		{"rename a variable across files", "textDocument/rename", withName(at(c, mod, 2, 15), "COUNT"),
			[]string{`sys/vars.yml":[{"range":{"start":{"line":1,"character":10}`, `"newText":"COUNT"`}, nil},
		{"document symbols", "textDocument/documentSymbol", map[string]any{"textDocument": map[string]any{"uri": c.uri(wf)}},
			[]string{`"name":"main"`, `"name":"build"`, `"name":"setup"`}, nil},
		{"semantic tokens", "textDocument/semanticTokens/full", map[string]any{"textDocument": map[string]any{"uri": c.uri(wf)}},
			[]string{`"data":[0,4,4,0,0,1,6,5,7,0`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw json.RawMessage
			c.t = t
			c.call(tt.method, tt.params, &raw)
			got := string(raw)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s: no %s in %s", tt.method, w, got)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("%s: %s in %s", tt.method, w, got)
				}
			}
		})
	}
}

func withContext(p map[string]any, decl bool) map[string]any {
	p["context"] = map[string]any{"includeDeclaration": decl}
	return p
}

func withName(p map[string]any, name string) map[string]any {
	p["newName"] = name
	return p
}

// TestFormattingAndCodeActions: formatting is gxl fmt's, and each
// did-you-mean comes with its fix as a code action.
func TestFormattingAndCodeActions(t *testing.T) {
	c := start(t, system)
	messy := "mod main {\nflow build {   gx.echo(\"x\") ;\n}\n}\n"
	c.open(wf, messy)
	var edits []struct {
		NewText string
	}
	c.call("textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": c.uri(wf)}, "options": map[string]any{"tabSize": 4, "insertSpaces": true}}, &edits)
	if len(edits) != 1 || !strings.Contains(edits[0].NewText, "    flow build {\n        gx.echo(\"x\");") {
		t.Errorf("formatting: %+v", edits)
	}

	typo := strings.Replace(system[mod], "gx.echo", "gx.ecoh", 1)
	c.open(mod, typo)
	var actions []struct {
		Title string
		Edit  struct {
			Changes map[string][]struct {
				Range   struct{ Start, End struct{ Line, Character int } }
				NewText string
			}
		}
	}
	c.call("textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": c.uri(mod)},
		"range": map[string]any{"start": pos(3, 12), "end": pos(3, 12)}, "context": map[string]any{"diagnostics": []any{}}}, &actions)
	if len(actions) != 1 || actions[0].Title != "change `gx.ecoh` to `gx.echo`" {
		t.Fatalf("code actions: %+v", actions)
	}
	e := actions[0].Edit.Changes[c.uri(mod)]
	if len(e) != 1 || e[0].NewText != "gx.echo" || e[0].Range.Start.Character != 12 || e[0].Range.End.Character != 19 {
		t.Errorf("edit: %+v", e)
	}
	// No action away from the diagnostic.
	actions = nil
	c.call("textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": c.uri(mod)},
		"range": map[string]any{"start": pos(0, 0), "end": pos(0, 1)}, "context": map[string]any{"diagnostics": []any{}}}, &actions)
	if len(actions) != 0 {
		t.Errorf("code actions at line 0: %+v", actions)
	}
}

// TestDebounce: a burst of changes is checked once, after the last one.
func TestDebounce(t *testing.T) {
	c := startWith(t, system, time.Second)
	c.open(wf, system[wf])
	for v := 2; v <= 11; v++ {
		c.notify("textDocument/didChange", map[string]any{
			"textDocument":   map[string]any{"uri": c.uri(wf), "version": v},
			"contentChanges": []any{map[string]any{"text": strings.Replace(system[wf], "building", fmt.Sprintf("building %d", v), 1)}},
		})
	}
	published := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.seen)
	}
	if n := published(); n != 0 {
		t.Fatalf("%d publications before the wait ended", n)
	}
	c.wait("the diagnostics", func(m map[string][]diagnostic) bool { _, ok := m[wf]; return ok })
	time.Sleep(1500 * time.Millisecond)
	// One publication of each file the check reached (the workflow, the
	// module's workflow), not one per change.
	if n := published(); n > 1 {
		t.Errorf("%d more publications after the first: each change was checked", n)
	}
}
