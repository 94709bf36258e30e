// Package syntax turns GXL source into the lang/ast tree: a hand-written
// lexer (exact positions, comments kept) feeding the participle grammar
// (grammar.go), the one tree builder and source of every syntax error
// (errors.go), whose nodes one thin mapping (convert.go) turns into the
// clean AST with spans on every node.
// Obsolete forms of the original tool parse here on purpose so that the
// conversion step can reject them with a precise "write this instead".
package syntax

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/limits"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
)

// Token types of the GXL lexer.
const (
	tEOF lexer.TokenType = lexer.EOF - iota
	tIdent
	tInt
	tFloat
	tString
	tRawString
	tCmdBlock
	tVarRef
	tAnnOpen
	tPunct
	tComment
	tWhitespace
	tError
	tBool
)

var symbols = map[string]lexer.TokenType{
	"EOF":        tEOF,
	"Ident":      tIdent,
	"Int":        tInt,
	"Float":      tFloat,
	"String":     tString,
	"RawString":  tRawString,
	"CmdBlock":   tCmdBlock,
	"VarRef":     tVarRef,
	"AnnOpen":    tAnnOpen,
	"Punct":      tPunct,
	"Comment":    tComment,
	"Whitespace": tWhitespace,
	"Error":      tError,
	"Bool":       tBool,
}

// definition implements participle's lexer.Definition with the hand-written
// scanner below.
type definition struct{}

func (definition) Symbols() map[string]lexer.TokenType { return symbols }

func (definition) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return newScanner(filename, b), nil
}

func (definition) LexBytes(filename string, b []byte) (lexer.Lexer, error) {
	return newScanner(filename, b), nil
}

// scanner produces tokens; lexical errors are collected as diagnostics and
// reported as an Error token so that parsing stops at the right place.
type scanner struct {
	file     string
	src      []byte
	off      int
	line     int
	col      int
	comments []*ast.Comment
	diags    diag.List
	// str, when set, is src as one string: token values are substrings of
	// it instead of one allocation per token.
	str string
	// depth counts the open brackets ({ ( [ #[) and bangs the run of `!`
	// just lexed: nesting is limited here, before any parser recurses
	// (limits.MaxNesting); deep is set once the limit was reported.
	depth, bangs int
	deep         bool
	// checked is set once the input was checked to be UTF-8.
	checked bool
}

func newScanner(file string, src []byte) *scanner {
	return &scanner{file: file, src: src, line: 1, col: 1}
}

func (s *scanner) pos() lexer.Position {
	return lexer.Position{Filename: s.file, Offset: s.off, Line: s.line, Column: s.col}
}

func (s *scanner) dpos() diag.Pos {
	return diag.Pos{File: s.file, Offset: s.off, Line: s.line, Col: s.col}
}

func toDiagPos(p lexer.Position) diag.Pos {
	return diag.Pos{File: p.Filename, Offset: p.Offset, Line: p.Line, Col: p.Column}
}

// advance moves n bytes forward, tracking lines and columns.
func (s *scanner) advance(n int) {
	for i := 0; i < n && s.off < len(s.src); i++ {
		if s.src[s.off] == '\n' {
			s.line++
			s.col = 1
		} else {
			s.col++
		}
		s.off++
	}
}

func (s *scanner) peek(i int) byte {
	if s.off+i < len(s.src) {
		return s.src[s.off+i]
	}
	return 0
}

func (s *scanner) errorf(start diag.Pos, code, hint, format string, args ...any) {
	d := diag.Errorf(diag.Span{Start: start, End: s.dpos()}, code, format, args...)
	d.Hint = hint
	s.diags.Add(d)
}

func isIdentByte(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (s *scanner) tok(t lexer.TokenType, start lexer.Position) lexer.Token {
	if s.str != "" {
		return lexer.Token{Type: t, Value: s.str[start.Offset:s.off], Pos: start}
	}
	b := s.src[start.Offset:s.off]
	// Punctuation and keywords repeat on every line: share their strings
	// instead of allocating one per token (the map lookup with a []byte
	// key does not allocate).
	if t == tPunct || t == tIdent {
		if v, ok := interned[string(b)]; ok {
			return lexer.Token{Type: t, Value: v, Pos: start}
		}
	}
	return lexer.Token{Type: t, Value: string(b), Pos: start}
}

var interned = func() map[string]string {
	m := map[string]string{}
	for _, w := range []string{"{", "}", "(", ")", "[", "]", ",", ";", ":", "=", ".", "|", "@", "!", "<", ">", "*", "~", "-", "&",
		"==", "!=", "=*", "<=", ">=", "&&", "||",
		"mod", "env", "envs", "main", "flow", "fn", "activity", "extern", "if", "else", "for", "in", "defined",
		"true", "false", "TRUE", "FALSE", "gx", "echo", "cmd", "shell", "vars", "read_file", "read_cmd", "tpl", "assert",
		"run", "value", "name", "file", "k8s", "pg", "redis", "usage", "desp", "auto_load", "entry", "exit",
		"transaction", "undo", "dryrun", "task", "retry", "timeout"} {
		m[w] = w
	}
	return m
}()

// Next implements lexer.Lexer.
func (s *scanner) Next() (lexer.Token, error) {
	if !s.checked {
		s.checked = true
		if s.off == 0 && bytes.HasPrefix(s.src, utf8BOM) {
			// A UTF-8 byte order mark (some Windows editors write one) is
			// not text: skipped (columns count bytes, as on every line).
			s.advance(len(utf8BOM))
		}
		if bad := firstInvalidUTF8(s.src[s.off:]); bad >= 0 {
			// Text that is not UTF-8 is rejected whole, at its first bad
			// byte: no token can be trusted to hold what the author wrote.
			// A NUL byte is valid UTF-8 but never text (a UTF-16 file
			// holds one in every other byte).
			s.advance(bad)
			start := s.pos()
			if s.src[s.off] == 0 {
				s.errorf(s.dpos(), "encoding", "is this a binary or UTF-16 file? GXL files are UTF-8 text: re-save the file as UTF-8",
					"a NUL byte (0x00) is not text")
			} else {
				s.errorf(s.dpos(), "encoding", "GXL files are UTF-8 text: re-save the file as UTF-8",
					"invalid UTF-8: byte 0x%02x", s.src[s.off])
			}
			s.off = len(s.src)
			s.deep = true
			return lexer.Token{Type: tError, Value: "", Pos: start}, nil
		}
	}
	if s.off >= len(s.src) || s.deep {
		// Past a nesting error the input ends: participle matches
		// punctuation by its text, so it would parse on through the error
		// token and recurse as deep as the input goes.
		return lexer.EOFToken(s.pos()), nil
	}
	// Whitespace and comments never reach the parser: comments are kept
	// in s.comments, and a node's span comes from its own tokens
	// (convert.go), so the token array participle builds holds only what
	// the grammar matches.
	for {
		start := s.pos()
		typ := s.lex(&start)
		if typ == tWhitespace || typ == tComment {
			if s.off >= len(s.src) {
				return lexer.EOFToken(s.pos()), nil
			}
			continue
		}
		return s.tok(typ, start), nil
	}
}

// lex scans the token at start (the current position, before the end of
// input) and returns its type; its text is src[start.Offset:s.off]. A
// token that opens a level past limits.MaxNesting is an error token.
func (s *scanner) lex(startp *lexer.Position) lexer.TokenType {
	typ := s.lexToken(startp)
	switch typ {
	case tWhitespace, tComment:
		return typ
	case tPunct:
		switch s.src[startp.Offset] {
		case '{', '(', '[':
			s.depth++
			s.bangs = 0
		case '}', ')', ']':
			if s.depth > 0 {
				s.depth--
			}
			s.bangs = 0
			return typ
		case '!':
			if s.off-startp.Offset == 1 {
				s.bangs++
			} else {
				s.bangs = 0 // !=
				return typ
			}
		default:
			s.bangs = 0
			return typ
		}
	case tAnnOpen:
		s.depth++
		s.bangs = 0
	default:
		s.bangs = 0
		return typ
	}
	if s.depth+s.bangs > limits.MaxNesting && !s.deep {
		s.deep = true
		s.errorf(toDiagPos(*startp), "nesting", "split the construct: move inner blocks into a fn, or name parts of a condition with variables",
			"nesting deeper than %d levels", limits.MaxNesting)
		return tError
	}
	return typ
}

// lexToken is lex without the nesting count.
func (s *scanner) lexToken(startp *lexer.Position) lexer.TokenType {
	start := *startp
	c := s.src[s.off]
	switch {
	case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		s.skipSpace()
		return tWhitespace
	case c == '/' && s.peek(1) == '/':
		s.lineComment(start, ast.LineComment)
		return tComment
	case c == '#' && s.peek(1) == '[':
		s.advance(2)
		return tAnnOpen
	case c == '#':
		s.lineComment(start, ast.HashComment)
		return tComment
	case c == '/' && s.peek(1) == '*':
		s.advance(2)
		for {
			if s.off >= len(s.src) {
				s.errorf(toDiagPos(start), "unterminated-comment", "close the comment with */", "unterminated /* comment")
				return tError
			}
			if s.src[s.off] == '*' && s.peek(1) == '/' {
				s.advance(2)
				break
			}
			s.advance(1)
		}
		s.addComment(start, ast.BlockComment)
		return tComment
	case c == '"':
		if !s.stringLit() {
			return tError
		}
		return tString
	case c == 'r' && s.peek(1) == '#' && s.peek(2) == '"':
		s.advance(3)
		for {
			if s.off >= len(s.src) {
				s.errorf(toDiagPos(start), "unterminated-string", "a raw string ends with \"#", "unterminated raw string")
				return tError
			}
			if s.src[s.off] == '"' && s.peek(1) == '#' {
				s.advance(2)
				break
			}
			s.advance(1)
		}
		return tRawString
	case c == '`':
		if s.peek(1) == '`' && s.peek(2) == '`' {
			if !strings.HasPrefix(string(s.src[s.off+3:min(len(s.src), s.off+6)]), "cmd") {
				s.advance(3)
				s.errorf(toDiagPos(start), "syntax", "fenced command blocks start with ```cmd", "unknown fenced block")
				return tError
			}
			s.advance(6)
			for {
				if s.off >= len(s.src) {
					s.errorf(toDiagPos(start), "unterminated-cmd", "close the block with ```", "unterminated ```cmd block")
					return tError
				}
				if s.src[s.off] == '`' && s.peek(1) == '`' && s.peek(2) == '`' {
					s.advance(3)
					break
				}
				s.advance(1)
			}
			return tCmdBlock
		}
		s.advance(1)
		s.errorf(toDiagPos(start), "syntax", "backquotes only appear in ```cmd blocks; quote shell text in a string", "unexpected backquote")
		return tError
	case c == '$' && s.peek(1) == '{':
		end := -1
		for i := s.off + 2; i < len(s.src); i++ {
			if s.src[i] == '}' {
				end = i
				break
			}
			if s.src[i] == '\n' {
				break
			}
		}
		if end < 0 {
			s.advance(2)
			s.errorf(toDiagPos(start), "syntax", "a variable reference is written ${NAME}", "unterminated ${")
			return tError
		}
		s.advance(end + 1 - s.off)
		return tVarRef
	case isDigit(c) || (c == '-' && isDigit(s.peek(1))):
		s.advance(1)
		for s.off < len(s.src) && isDigit(s.src[s.off]) {
			s.advance(1)
		}
		typ := tInt
		if s.off < len(s.src) && s.src[s.off] == '.' && isDigit(s.peek(1)) {
			s.advance(1)
			for s.off < len(s.src) && isDigit(s.src[s.off]) {
				s.advance(1)
			}
			typ = tFloat
		}
		// A number glued to more number text (1.5e3, 1.2.3, 3.) is one
		// malformed number, reported whole, not as a number and a stray
		// `.` or name after it.
		if malformedNumber(s.src, s.off, typ) {
			for s.off < len(s.src) && (isIdentByte(s.src[s.off]) || s.src[s.off] == '.') {
				s.advance(1)
			}
			text := string(s.src[start.Offset:s.off])
			s.errorf(toDiagPos(start), "syntax", numberHint(text), "`%s` is not a number", text)
			return tError
		}
		// Names may start with a digit (`flow 1st`, `30s` in annotations).
		if c != '-' && typ == tInt && s.off < len(s.src) && isIdentByte(s.src[s.off]) {
			for s.off < len(s.src) && isIdentByte(s.src[s.off]) {
				s.advance(1)
			}
			return tIdent
		}
		return typ
	case isIdentByte(c):
		// Names hold no newlines: only the column moves.
		off := s.off
		for off < len(s.src) && isIdentByte(s.src[off]) {
			off++
		}
		s.col += off - s.off
		word := s.src[s.off:off]
		s.off = off
		if value.IsBoolWord(string(word)) {
			return tBool
		}
		return tIdent
	}
	// Punctuation: two-character operators first.
	if s.off+1 < len(s.src) {
		switch string(s.src[s.off : s.off+2]) {
		case "==", "!=", "=*", "<=", ">=", "&&", "||":
			s.advance(2)
			return tPunct
		}
	}
	switch c {
	case '{', '}', '(', ')', '[', ']', ',', ';', ':', '=', '.', '|', '@', '!', '<', '>', '*', '~', '-', '&':
		s.advance(1)
		return tPunct
	}
	// Anything else is an error token covering one (UTF-8) character.
	n := 1
	for s.off+n < len(s.src) && s.src[s.off+n]&0xC0 == 0x80 {
		n++
	}
	s.advance(n)
	r, _ := utf8.DecodeRune(s.src[start.Offset:s.off])
	switch {
	case r == 0xFEFF:
		s.errorf(toDiagPos(start), "syntax", "a byte order mark belongs only at the very start of a file; delete it (editors show it as nothing)",
			"unexpected byte order mark U+FEFF")
	case !unicode.IsPrint(r):
		s.errorf(toDiagPos(start), "syntax", "delete it: it is invisible in most editors",
			"unexpected invisible character %U", r)
	case r >= utf8.RuneSelf:
		s.errorf(toDiagPos(start), "syntax", "names are ASCII letters, digits and `_`; other text goes in a string \"...\"",
			"unexpected character `%c` (%U)", r, r)
	default:
		s.errorf(toDiagPos(start), "syntax", asciiHints[r], "unexpected character `%c`", r)
	}
	return tError
}

func (s *scanner) lineComment(start lexer.Position, kind ast.CommentKind) {
	for s.off < len(s.src) && s.src[s.off] != '\n' {
		s.advance(1)
	}
	s.addComment(start, kind)
}

func (s *scanner) addComment(start lexer.Position, kind ast.CommentKind) {
	text := strings.TrimRight(string(s.src[start.Offset:s.off]), "\r")
	s.comments = append(s.comments, &ast.Comment{
		Sp:   ast.Sp{S: diag.Span{Start: toDiagPos(start), End: s.dpos()}},
		Kind: kind,
		Text: text,
	})
}

// stringLit scans a "..." literal (escapes are validated later, when the
// literal is split into parts). Strings may not span lines.
func (s *scanner) stringLit() bool {
	start := s.dpos()
	s.advance(1)
	for s.off < len(s.src) {
		switch s.src[s.off] {
		case '\\':
			if s.peek(1) == '\n' || s.off+1 >= len(s.src) {
				s.advance(1)
				continue
			}
			s.advance(2)
		case '"':
			s.advance(1)
			return true
		case '\n':
			s.errorf(start, "unterminated-string", "close the string on the same line; for text over several lines write \\n or a raw string r#\"...\"#", "unterminated string")
			return false
		default:
			// Not a newline: only the column moves.
			s.off++
			s.col++
		}
	}
	s.errorf(start, "unterminated-string", "close the string with \"", "unterminated string")
	return false
}

// keywordList are the names that start or continue a construct.
var keywordList = []string{"mod", "extern", "env", "flow", "fn", "activity", "if", "else", "for", "in"}

var keywords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range keywordList {
		m[k] = true
	}
	return m
}()

// describeToken formats a participle token for messages.
func describeToken(t lexer.Token) string {
	switch {
	case t.EOF():
		return "end of file"
	case t.Type == tString || t.Type == tRawString:
		return "string " + t.Value
	case t.Type == tInt || t.Type == tFloat:
		return "number " + t.Value
	case t.Type == tVarRef:
		return "variable reference " + t.Value
	case t.Type == tCmdBlock:
		return "```cmd block"
	case t.Type == tBool:
		return "boolean " + t.Value
	case t.Type == tIdent && (keywords[t.Value] || isDigit(t.Value[0])):
		// A keyword, or number-like text (1e3, 10s): not what a reader
		// calls a name.
		return fmt.Sprintf("`%s`", t.Value)
	case t.Type == tIdent:
		return fmt.Sprintf("name `%s`", t.Value)
	}
	return fmt.Sprintf("`%s`", t.Value)
}

// numberHint is the hint at text that looks like a number but is not one.
func numberHint(text string) string {
	return "numbers are written 42 or 1.5 (digits on both sides of the point, no exponent or unit suffix); quote other text: \"" + text + "\""
}

// malformedNumber says whether the number of type typ lexed before off
// goes on as number text: letters or digits after a float (1.5e3), a point
// and a digit after a float (1.2.3), or a point that nothing follows (3.;
// a point followed by a letter may be a path, 1.x).
func malformedNumber(src []byte, off int, typ lexer.TokenType) bool {
	if off >= len(src) {
		return false
	}
	c := src[off]
	switch {
	case typ == tFloat && isIdentByte(c):
		return true
	case c != '.':
		return false
	case off+1 >= len(src):
		return true
	}
	next := src[off+1]
	return (typ == tFloat && isDigit(next)) || !isIdentByte(next)
}

// firstInvalidUTF8 is the offset of the first byte of b that is not part
// of a valid UTF-8 sequence, or -1.
func firstInvalidUTF8(b []byte) int {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 || r == 0 {
			return i
		}
		i += n
	}
	return -1
}

// asciiHints say what an ASCII character with no place in GXL is written
// as instead.
var asciiHints = map[rune]string{
	'$':  "a variable is written ${NAME}; a command runs with gx.cmd(cmd: \"...\")",
	'\'': "strings are written in double quotes: \"...\"",
	'+':  "GXL has no arithmetic; join text in a string: \"${A}${B}\"",
	'%':  "GXL has no arithmetic",
	'/':  "GXL has no arithmetic; comments are // ..., # ... or /* ... */",
	'?':  "a default value is written ${NAME:default}",
	'\\': "a backslash goes in a string: \"\\\\\"",
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// skipSpace advances over blanks and newlines, keeping line and column.
func (s *scanner) skipSpace() {
	off, line, col := s.off, s.line, s.col
	for ; off < len(s.src); off++ {
		c := s.src[off]
		if c == '\n' {
			line++
			col = 1
			continue
		}
		if c != ' ' && c != '\t' && c != '\r' {
			break
		}
		col++
	}
	s.off, s.line, s.col = off, line, col
}
