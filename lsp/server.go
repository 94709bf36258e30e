// Package lsp is gxl's language server (gxl lsp): the Language Server
// Protocol over a stream (stdio), on the protocol types of
// github.com/tliron/glsp and the JSON-RPC 2.0 connection of
// github.com/sourcegraph/jsonrpc2. It adds no checker, symbol table or
// completer of its own: diagnostics are engine.Analyze's (the text of gxl
// check, across a system workflow, its modules' workflows and sys/*.yml,
// with the editor's unsaved buffers read through engine.WithReadFile),
// completion is lang/complete's, formatting lang/format's, and navigation
// reads the checked programs' resolved names.
package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/engine"
)

// DefaultDebounce is how long diagnostics wait after the last change.
const DefaultDebounce = 150 * time.Millisecond

// Options configure a Server.
type Options struct {
	// Debounce is the wait after a change before the check (default
	// DefaultDebounce).
	Debounce time.Duration
	// Engine are options of the engine that checks (registry, offline…).
	Engine []engine.Option
}

// Server is one editor's session.
type Server struct {
	opt     Options
	handler protocol.Handler
	eng     *engine.Engine

	mu        sync.Mutex
	docs      map[string]*document // by absolute path
	gen       int                  // bumped on every buffer change
	cache     map[string]*result   // by absolute path of the analysed file
	published map[string]bool      // files with diagnostics shown
	timer     *time.Timer
	conn      *jsonrpc2.Conn
	shutdown  bool
}

// document is an open buffer.
type document struct {
	uri     string
	path    string
	version int32
	text    string
}

// result is one analysis of a file and what was derived from it.
type result struct {
	gen   int
	an    *engine.Analysis
	index *index
}

// New makes a server.
func New(opt Options) (*Server, error) {
	if opt.Debounce <= 0 {
		opt.Debounce = DefaultDebounce
	}
	s := &Server{opt: opt, docs: map[string]*document{}, cache: map[string]*result{}, published: map[string]bool{}}
	eng, err := engine.New(append(append([]engine.Option(nil), opt.Engine...), engine.WithReadFile(s.readFile), engine.WithOffline(true))...)
	if err != nil {
		return nil, err
	}
	s.eng = eng
	s.handler = protocol.Handler{
		Initialize:                     s.initialize,
		Initialized:                    func(*glsp.Context, *protocol.InitializedParams) error { return nil },
		Shutdown:                       s.shutdownReq,
		Exit:                           func(*glsp.Context) error { return nil },
		SetTrace:                       func(*glsp.Context, *protocol.SetTraceParams) error { return nil },
		TextDocumentDidOpen:            s.didOpen,
		TextDocumentDidChange:          s.didChange,
		TextDocumentDidSave:            func(*glsp.Context, *protocol.DidSaveTextDocumentParams) error { return nil },
		TextDocumentDidClose:           s.didClose,
		TextDocumentCompletion:         s.completion,
		TextDocumentHover:              s.hover,
		TextDocumentDefinition:         s.definition,
		TextDocumentReferences:         s.references,
		TextDocumentRename:             s.rename,
		TextDocumentDocumentSymbol:     s.documentSymbol,
		TextDocumentFormatting:         s.formatting,
		TextDocumentCodeAction:         s.codeAction,
		TextDocumentSemanticTokensFull: s.semanticTokens,
	}
	return s, nil
}

// Serve runs the session on rw (stdin and stdout for gxl lsp) until the
// client sends exit or closes the stream.
func (s *Server) Serve(ctx context.Context, rw io.ReadWriteCloser) error {
	conn := jsonrpc2.NewConn(ctx, jsonrpc2.NewBufferedStream(rw, jsonrpc2.VSCodeObjectCodec{}), jsonrpc2.HandlerWithError(s.handle))
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	select {
	case <-conn.DisconnectNotify():
	case <-ctx.Done():
		conn.Close()
	}
	s.mu.Lock()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	return nil
}

// handle hands a request to the protocol handler. Requests are handled
// one at a time, in order: a completion sees the change sent before it.
func (s *Server) handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
	gc := &glsp.Context{
		Method: req.Method,
		Notify: func(method string, params any) { _ = conn.Notify(ctx, method, params) },
		Call:   func(method string, params, result any) { _ = conn.Call(ctx, method, params, result) },
	}
	if req.Params != nil {
		gc.Params = *req.Params
	}
	if req.Method == "exit" {
		return nil, conn.Close()
	}
	r, validMethod, validParams, err := s.handler.Handle(gc)
	switch {
	case !validMethod:
		if req.Notif {
			return nil, nil // unknown notifications are ignored ($/…)
		}
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "method not supported: " + req.Method}
	case !validParams:
		msg := "invalid params"
		if err != nil {
			msg = err.Error()
		}
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: msg}
	case err != nil:
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInternalError, Message: err.Error()}
	}
	return r, nil
}

// TokenTypes is the semantic tokens legend.
var TokenTypes = []string{"namespace", "function", "variable", "property", "string", "number", "comment", "decorator", "keyword", "parameter"}

func (s *Server) initialize(_ *glsp.Context, _ *protocol.InitializeParams) (any, error) {
	sync := protocol.TextDocumentSyncKindIncremental
	t := true
	caps := protocol.ServerCapabilities{
		TextDocumentSync:           protocol.TextDocumentSyncOptions{OpenClose: &t, Change: &sync},
		CompletionProvider:         &protocol.CompletionOptions{TriggerCharacters: []string{".", "{", "(", ",", "[", ":", "|"}},
		HoverProvider:              true,
		DefinitionProvider:         true,
		ReferencesProvider:         true,
		RenameProvider:             true,
		DocumentSymbolProvider:     true,
		DocumentFormattingProvider: true,
		CodeActionProvider:         protocol.CodeActionOptions{CodeActionKinds: []protocol.CodeActionKind{protocol.CodeActionKindQuickFix}},
		SemanticTokensProvider: protocol.SemanticTokensOptions{
			Legend: protocol.SemanticTokensLegend{TokenTypes: TokenTypes, TokenModifiers: []string{}},
			Full:   true,
		},
	}
	version := "dev"
	return protocol.InitializeResult{Capabilities: caps, ServerInfo: &protocol.InitializeResultServerInfo{Name: "gxl", Version: &version}}, nil
}

func (s *Server) shutdownReq(*glsp.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = true
	if s.timer != nil {
		s.timer.Stop()
	}
	return nil
}

// readFile reads a file for the engine: an open buffer over the file on
// disk.
func (s *Server) readFile(path string) ([]byte, error) {
	abs, err := filepath.Abs(path)
	if err == nil {
		s.mu.Lock()
		d := s.docs[abs]
		s.mu.Unlock()
		if d != nil {
			return []byte(d.text), nil
		}
	}
	return os.ReadFile(path)
}

func (s *Server) didOpen(_ *glsp.Context, p *protocol.DidOpenTextDocumentParams) error {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.docs[path] = &document{uri: p.TextDocument.URI, path: path, version: p.TextDocument.Version, text: p.TextDocument.Text}
	s.changedLocked()
	s.mu.Unlock()
	return nil
}

func (s *Server) didChange(_ *glsp.Context, p *protocol.DidChangeTextDocumentParams) error {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[path]
	if d == nil {
		return fmt.Errorf("didChange of %s, which is not open", p.TextDocument.URI)
	}
	for _, c := range p.ContentChanges {
		switch c := c.(type) {
		case protocol.TextDocumentContentChangeEventWhole:
			d.text = c.Text
		case protocol.TextDocumentContentChangeEvent:
			start, end := offsetOf(d.text, c.Range.Start), offsetOf(d.text, c.Range.End)
			if end < start {
				return fmt.Errorf("change range ends before it starts")
			}
			d.text = d.text[:start] + c.Text + d.text[end:]
		}
	}
	d.version = p.TextDocument.Version
	s.changedLocked()
	return nil
}

func (s *Server) didClose(_ *glsp.Context, p *protocol.DidCloseTextDocumentParams) error {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.docs, path)
	s.changedLocked()
	s.mu.Unlock()
	return nil
}

// changedLocked records a change of the buffers and (re)starts the wait
// before diagnostics.
func (s *Server) changedLocked() {
	s.gen++
	s.cache = map[string]*result{}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(s.opt.Debounce, s.publish)
}

// analysis returns the analysis of path for the buffers as they are now.
func (s *Server) analysis(path string) *result {
	s.mu.Lock()
	gen := s.gen
	if r := s.cache[path]; r != nil && r.gen == gen {
		s.mu.Unlock()
		return r
	}
	s.mu.Unlock()
	an := s.eng.Analyze(path)
	r := &result{gen: gen, an: an, index: buildIndex(an, s.source)}
	s.mu.Lock()
	if s.gen == gen {
		s.cache[path] = r
	}
	s.mu.Unlock()
	return r
}

// source is the text of a file: its buffer, else the file on disk.
func (s *Server) source(path string) []byte {
	b, err := s.readFile(path)
	if err != nil {
		return nil
	}
	return b
}

// publish checks every open workflow and sends the diagnostics of every
// file they reach; files whose diagnostics went away get an empty list.
func (s *Server) publish() {
	s.mu.Lock()
	if s.shutdown || s.conn == nil {
		s.mu.Unlock()
		return
	}
	var paths []string
	for p := range s.docs {
		if filepath.Ext(p) == ".gxl" {
			paths = append(paths, p)
		}
	}
	gen := s.gen
	s.mu.Unlock()
	byFile := map[string][]protocol.Diagnostic{}
	for _, p := range paths {
		r := s.analysis(p)
		byFile[p] = byFile[p] // the file itself always gets a list
		for _, d := range r.an.Diags {
			file := absPath(d.Span.Start.File)
			if file == "" {
				file = p // about the command line: shown at the top
			}
			byFile[file] = append(byFile[file], s.toDiagnostic(d))
		}
	}
	s.mu.Lock()
	if s.gen != gen {
		s.mu.Unlock()
		return // a newer change will publish
	}
	conn := s.conn
	old := s.published
	s.published = map[string]bool{}
	for f, ds := range byFile {
		if len(ds) > 0 {
			s.published[f] = true
		}
	}
	s.mu.Unlock()
	for f := range old {
		if _, ok := byFile[f]; !ok {
			byFile[f] = nil
		}
	}
	for f, ds := range byFile {
		if ds == nil {
			ds = []protocol.Diagnostic{}
		}
		_ = conn.Notify(context.Background(), protocol.ServerTextDocumentPublishDiagnostics, protocol.PublishDiagnosticsParams{URI: pathURI(f), Diagnostics: ds})
	}
}

// toDiagnostic is d as the protocol shows it: the summary, then the hint
// and notes as gxl check prints them.
func (s *Server) toDiagnostic(d diag.Diagnostic) protocol.Diagnostic {
	sev := protocol.DiagnosticSeverityError
	switch d.Severity {
	case diag.Warning:
		sev = protocol.DiagnosticSeverityWarning
	case diag.Note:
		sev = protocol.DiagnosticSeverityInformation
	}
	src := "gxl"
	msg := d.Summary
	if d.Hint != "" {
		msg += "\nhint: " + d.Hint
	}
	for _, n := range d.Notes {
		msg += "\n= " + n
	}
	out := protocol.Diagnostic{Range: s.toRange(d.Span), Severity: &sev, Source: &src, Message: msg}
	if d.Code != "" {
		out.Code = &protocol.IntegerOrString{Value: d.Code}
	}
	if d.Fix != nil {
		data, _ := json.Marshal(d.Fix)
		out.Data = json.RawMessage(data)
	}
	for _, r := range d.Related {
		out.RelatedInformation = append(out.RelatedInformation, protocol.DiagnosticRelatedInformation{
			Location: protocol.Location{URI: pathURI(absPath(r.Span.Start.File)), Range: s.toRange(r.Span)},
			Message:  r.Message,
		})
	}
	return out
}
