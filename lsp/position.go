package lsp

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/gxl-dev/gxl/core/diag"
)

// uriPath is the absolute path of a file: URI.
func uriPath(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return "", fmt.Errorf("%s: only file: URIs are served", uri)
	}
	return filepath.Clean(u.Path), nil
}

// pathURI is the file: URI of a path.
func pathURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// absPath is path made absolute the way the loaders resolve it (against
// the working directory), or "" for no path.
func absPath(path string) string {
	if path == "" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return abs
}

// offsetOf is the byte offset of an LSP position (UTF-16 columns) in text,
// clamped to the text.
func offsetOf(text string, p protocol.Position) int {
	off := 0
	for line := protocol.UInteger(0); line < p.Line; line++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	for units := protocol.UInteger(0); units < p.Character && off < len(text) && text[off] != '\n'; {
		r, size := utf8.DecodeRuneInString(text[off:])
		units += protocol.UInteger(utf16.RuneLen(r))
		off += size
	}
	return off
}

// positionOf is the LSP position of a byte offset in text.
func positionOf(text string, off int) protocol.Position {
	off = min(max(off, 0), len(text))
	line := strings.Count(text[:off], "\n")
	start := strings.LastIndexByte(text[:off], '\n') + 1
	return protocol.Position{Line: protocol.UInteger(line), Character: protocol.UInteger(utf16Len(text[start:off]))}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// toRange is the LSP range of a span, columns converted with the file's
// text; a span without a position is the file's first line.
func (s *Server) toRange(sp diag.Span) protocol.Range {
	if !sp.Start.IsValid() {
		return protocol.Range{}
	}
	src := string(s.source(absPath(sp.Start.File)))
	start := spanOffset(src, sp.Start)
	end := start
	if sp.End.IsValid() {
		end = spanOffset(src, sp.End)
	}
	if end <= start {
		// A point: underline the rest of the word.
		end = start
		for end < len(src) && src[end] != '\n' && src[end] != ' ' {
			end++
		}
	}
	return protocol.Range{Start: positionOf(src, start), End: positionOf(src, end)}
}

// spanOffset is the byte offset of p in src: from its line and column,
// which every phase sets (YAML positions have no offset).
func spanOffset(src string, p diag.Pos) int {
	off := 0
	for line := 1; line < p.Line; line++ {
		i := strings.IndexByte(src[off:], '\n')
		if i < 0 {
			return len(src)
		}
		off += i + 1
	}
	return min(off+p.Col-1, len(src))
}
