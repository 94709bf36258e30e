package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestLSPCommand: gxl lsp speaks the protocol on its standard streams,
// answers initialize with its capabilities and ends at exit (code 0).
func TestLSPCommand(t *testing.T) {
	msg := func(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }
	in := msg(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}`) +
		msg(`{"jsonrpc":"2.0","id":2,"method":"shutdown"}`) +
		msg(`{"jsonrpc":"2.0","method":"exit"}`)
	var out, errb bytes.Buffer
	root := newRoot(&streams{in: strings.NewReader(in), out: &out, err: &errb})
	root.SetArgs([]string{"lsp", "--stdio"})
	if err := root.Execute(); err != nil {
		t.Fatalf("gxl lsp: %v (stderr %q)", err, errb.String())
	}
	for _, want := range []string{`"id":1`, `"hoverProvider":true`, `"renameProvider":true`, `"semanticTokensProvider"`, `"name":"gxl"`, `"id":2`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %s in %s", want, out.String())
		}
	}
}
