package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/gxl-dev/gxl/internal/testprog"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lsp"
	"github.com/gxl-dev/gxl/stdlib"
)

const lspLines = 3000

// lspClient is an editor talking to a language server: it counts the
// diagnostics published for one file.
type lspClient struct {
	conn      *jsonrpc2.Conn
	published chan int // the number of diagnostics of each publication of the file
}

type rwc struct {
	io.Reader
	io.WriteCloser
}

func newLSPClient(ctx context.Context, rw io.ReadWriteCloser, uri string) (*lspClient, error) {
	c := &lspClient{published: make(chan int, 1024)}
	c.conn = jsonrpc2.NewConn(ctx, jsonrpc2.NewBufferedStream(rw, jsonrpc2.VSCodeObjectCodec{}), jsonrpc2.HandlerWithError(
		func(_ context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
			if req.Method != "textDocument/publishDiagnostics" || req.Params == nil {
				return nil, nil
			}
			var p struct {
				URI         string
				Diagnostics []json.RawMessage
			}
			if json.Unmarshal(*req.Params, &p) == nil && p.URI == uri {
				c.published <- len(p.Diagnostics)
			}
			return nil, nil
		}))
	var init json.RawMessage
	if err := c.conn.Call(ctx, "initialize", map[string]any{"capabilities": map[string]any{}}, &init); err != nil {
		return nil, err
	}
	return c, c.conn.Notify(ctx, "initialized", map[string]any{})
}

func (c *lspClient) wait() (int, error) {
	select {
	case n := <-c.published:
		return n, nil
	case <-time.After(2 * time.Minute):
		return 0, fmt.Errorf("no diagnostics published")
	}
}

// lspEdit: row 7. A generated 3,000-line workflow is open in the server
// (in process, over a pipe, as an editor talks to it); each sample
// changes one character of it and waits for the diagnostics. The
// server's wait after a change (150 ms, so that typing is not checked at
// every keystroke) is set to 1 ms here: the row measures the work, not
// the wait. The peer is parse+check of the same file in process
// (check.CheckSource). The second row is the peak RSS of a `gxl lsp`
// process with the example system's workflow open (its modules' workflows
// checked where fetched; nothing is fetched).
func lspEdit(b *bench) ([]Row, error) {
	src := testprog.Generate(lspLines)
	_, path, err := b.write("lsp", "big.gxl", src)
	if err != nil {
		return nil, err
	}
	reg := stdlib.Default()
	base, err := b.timeIt(fmt.Sprintf("parse+check in process, %d lines", lspLines), func() error {
		_, ds := check.CheckSource(path, src, check.Options{Registry: reg})
		if ds.HasErrors() {
			return fmt.Errorf("generated program: %w", ds.Errors()[0])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	srv, err := lsp.New(lsp.Options{Debounce: time.Millisecond})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cr, sw := io.Pipe()
	sr, cw := io.Pipe()
	go srv.Serve(ctx, rwc{sr, sw})
	uri := "file://" + path
	c, err := newLSPClient(ctx, rwc{cr, cw}, uri)
	if err != nil {
		return nil, err
	}
	if err := c.conn.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "gxl", "version": 1, "text": string(src)}}); err != nil {
		return nil, err
	}
	if n, err := c.wait(); err != nil || n != 0 {
		return nil, fmt.Errorf("the open workflow: %d diagnostics, %v", n, err)
	}
	// The edit: the first "shop" of the file toggles to "shoq" and back.
	at := strings.Index(string(src), "shop") + 3
	line := strings.Count(string(src[:at]), "\n")
	col := at - (strings.LastIndexByte(string(src[:at]), '\n') + 1)
	version, chars := 1, []string{"q", "p"}
	edit, err := b.timeIt(fmt.Sprintf("gxl lsp: diagnostics after a one-character edit, %d lines", lspLines), func() error {
		version++
		r := map[string]any{"start": map[string]any{"line": line, "character": col}, "end": map[string]any{"line": line, "character": col + 1}}
		if err := c.conn.Notify(ctx, "textDocument/didChange", map[string]any{
			"textDocument":   map[string]any{"uri": uri, "version": version},
			"contentChanges": []any{map[string]any{"range": r, "text": chars[version%2]}},
		}); err != nil {
			return err
		}
		_, err := c.wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	ratio := float64(edit.median()) / float64(base.median())
	rows := []Row{{
		ID: "7", What: fmt.Sprintf("`gxl lsp`: diagnostics after a one-character edit of a %s-line workflow (server in process over a pipe, 1 ms debounce) vs parse+check of the same file in process", thousands(lspLines)),
		GXL:    ms(edit.median()),
		Peer:   ms(base.median()),
		Ratio:  fmt.Sprintf("%.2f×", ratio),
		Target: "≤ 1.5×",
		Met:    yesNo(ratio <= 1.5),
	}}
	rss, err := lspRSS(b)
	if err != nil {
		return nil, err
	}
	rows = append(rows, Row{
		ID: "7b", What: "peak RSS of a `gxl lsp` process with the example system's `sys/workflows/operators.gxl` open and checked",
		GXL: kb(rss), Peer: "—", Ratio: "—", Target: "—", Met: "—", RSS: kb(rss),
	})
	return rows, nil
}

// lspRSS starts `gxl lsp` in the repository, opens the example system's
// workflow, waits for its diagnostics and reads the process's peak RSS
// (VmHWM) before it exits.
func lspRSS(b *bench) (int64, error) {
	wf, err := filepath.Abs(filepath.Join(b.repo, "sys", "workflows", "operators.gxl"))
	if err != nil {
		return 0, err
	}
	text, err := os.ReadFile(wf)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(b.gxl, "lsp")
	cmd.Dir = b.repo
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer cmd.Wait()
	defer in.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	uri := "file://" + wf
	c, err := newLSPClient(ctx, rwc{out, in}, uri)
	if err != nil {
		return 0, err
	}
	if err := c.conn.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "gxl", "version": 1, "text": string(text)}}); err != nil {
		return 0, err
	}
	if _, err := c.wait(); err != nil {
		return 0, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", cmd.Process.Pid)
}
