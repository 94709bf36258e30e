package syntax

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/ast"
)

// pchar is one character of processed text with the position it came from.
type pchar struct {
	c   byte
	pos diag.Pos
}

// charsOf returns the bytes of text starting at pos, each with its position.
func charsOf(text string, pos diag.Pos) []pchar {
	out := make([]pchar, len(text))
	for i := 0; i < len(text); i++ {
		out[i] = pchar{c: text[i], pos: pos}
		pos = pos.Advance(text[i : i+1])
	}
	return out
}

// splitParts splits characters into text and ${...} parts. With escapes,
// backslash escapes are processed (and `\$` keeps a literal `$`); unknown
// escapes are reported. end is the position just after the last character.
func splitParts(cs []pchar, escapes bool, end diag.Pos, diags *diag.List) []ast.StrPart {
	var parts []ast.StrPart
	var text strings.Builder
	textStart := end
	if len(cs) > 0 {
		textStart = cs[0].pos
	}
	flush := func(at diag.Pos) {
		if text.Len() > 0 {
			parts = append(parts, ast.StrPart{Sp: ast.Sp{S: diag.Span{Start: textStart, End: at}}, Text: text.String()})
			text.Reset()
		}
	}
	posAt := func(i int) diag.Pos {
		if i < len(cs) {
			return cs[i].pos
		}
		return end
	}
	for i := 0; i < len(cs); i++ {
		c := cs[i].c
		if text.Len() == 0 {
			textStart = cs[i].pos
		}
		if escapes && c == '\\' && i+1 < len(cs) {
			e := cs[i+1].c
			switch e {
			case '"':
				text.WriteByte('"')
			case '\\':
				text.WriteByte('\\')
			case 'n':
				text.WriteByte('\n')
			case 't':
				text.WriteByte('\t')
			case 'r':
				text.WriteByte('\r')
			case '$':
				text.WriteByte('$')
			case '0':
				text.WriteByte(0)
			default:
				d := diag.Errorf(diag.Span{Start: cs[i].pos, End: posAt(i + 2)}, "bad-escape", "unknown escape sequence `\\%c`", e)
				d.Hint = "the escapes are \\\" \\\\ \\n \\t \\r \\$; for a backslash write \\\\ or use a raw string r#\"...\"#"
				diags.Add(d)
				text.WriteByte(e)
			}
			i++
			continue
		}
		if c == '$' && i+1 < len(cs) && cs[i+1].c == '{' {
			j := i + 2
			for j < len(cs) && cs[j].c != '}' {
				j++
			}
			if j < len(cs) {
				var inner strings.Builder
				for k := i + 2; k < j; k++ {
					inner.WriteByte(cs[k].c)
				}
				sp := diag.Span{Start: cs[i].pos, End: posAt(j + 1)}
				if ref, ok := parseRef(inner.String(), true); ok {
					flush(cs[i].pos)
					ref.S = sp
					parts = append(parts, ast.StrPart{Sp: ast.Sp{S: sp}, Var: ref})
					i = j
					continue
				}
			}
		}
		text.WriteByte(c)
	}
	flush(end)
	return parts
}

// splitPlain is splitParts for single-line text without escapes, computing
// positions by column arithmetic instead of per-character records.
func splitPlain(text string, pos, end diag.Pos) []ast.StrPart {
	if text == "" {
		return nil
	}
	if !strings.Contains(text, "${") {
		return []ast.StrPart{{Sp: ast.Sp{S: diag.Span{Start: pos, End: end}}, Text: text}}
	}
	var parts []ast.StrPart
	at := func(i int) diag.Pos {
		return diag.Pos{File: pos.File, Offset: pos.Offset + i, Line: pos.Line, Col: pos.Col + i}
	}
	textStart := 0
	for i := 0; i < len(text); i++ {
		if text[i] != '$' || i+1 >= len(text) || text[i+1] != '{' {
			continue
		}
		j := strings.IndexByte(text[i+2:], '}')
		if j < 0 {
			break
		}
		j += i + 2
		ref, ok := parseRef(text[i+2:j], true)
		if !ok {
			continue
		}
		if i > textStart {
			parts = append(parts, ast.StrPart{Sp: ast.Sp{S: diag.Span{Start: at(textStart), End: at(i)}}, Text: text[textStart:i]})
		}
		sp := diag.Span{Start: at(i), End: at(j + 1)}
		ref.S = sp
		parts = append(parts, ast.StrPart{Sp: ast.Sp{S: sp}, Var: ref})
		i = j
		textStart = j + 1
	}
	if textStart < len(text) {
		parts = append(parts, ast.StrPart{Sp: ast.Sp{S: diag.Span{Start: at(textStart), End: end}}, Text: text[textStart:]})
	}
	return parts
}

// parseRef parses the inside of `${...}`: NAME, NAME[0].KEY, and with
// allowDefault NAME:default. It reports false for text that is not a
// reference (the original tool leaves such text alone, e.g. `${my-var}`).
func parseRef(inner string, allowDefault bool) (*ast.VarRef, bool) {
	name := inner
	var def *string
	if allowDefault {
		if k := strings.IndexByte(inner, ':'); k >= 0 {
			name = inner[:k]
			d := inner[k+1:]
			def = &d
		}
	}
	name = strings.TrimSpace(name)
	if isPlainName(name) {
		return &ast.VarRef{Name: name, Segments: []ast.Segment{{Key: name}}, Default: def}, true
	}
	segs, err := parseSegments(name)
	if err != nil {
		return nil, false
	}
	return &ast.VarRef{Name: name, Segments: segs, Default: def}, true
}

// isPlainName reports a non-empty name of identifier bytes only (one key
// segment).
func isPlainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	return true
}

// parseSegments splits "A.B[0].C" into key and index segments.
func parseSegments(p string) ([]ast.Segment, error) {
	if p == "" {
		return nil, fmt.Errorf("empty name")
	}
	var out []ast.Segment
	for _, part := range strings.Split(p, ".") {
		key := part
		rest := ""
		if i := strings.IndexByte(part, '['); i >= 0 {
			key, rest = part[:i], part[i:]
		}
		if key == "" {
			return nil, fmt.Errorf("empty key")
		}
		for i := 0; i < len(key); i++ {
			if !isIdentByte(key[i]) {
				return nil, fmt.Errorf("bad character %q", key[i])
			}
		}
		out = append(out, ast.Segment{Key: key})
		for rest != "" {
			if rest[0] != '[' {
				return nil, fmt.Errorf("bad index")
			}
			j := strings.IndexByte(rest, ']')
			if j < 0 {
				return nil, fmt.Errorf("missing ]")
			}
			n, err := strconv.Atoi(strings.TrimSpace(rest[1:j]))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad index")
			}
			out = append(out, ast.Segment{Index: n, IsIndex: true})
			rest = rest[j+1:]
		}
	}
	return out, nil
}

// stringLit converts a "..." token at pos.
func stringLit(raw string, pos diag.Pos, diags *diag.List) *ast.StringLit {
	inner := raw
	innerPos := pos
	var end, innerEnd diag.Pos
	if strings.IndexByte(raw, '\n') < 0 {
		// One line: positions by column arithmetic.
		at := func(i int) diag.Pos {
			return diag.Pos{File: pos.File, Offset: pos.Offset + i, Line: pos.Line, Col: pos.Col + i}
		}
		end = at(len(raw))
		if len(inner) >= 2 && inner[0] == '"' && inner[len(inner)-1] == '"' {
			inner = inner[1 : len(inner)-1]
			innerPos = at(1)
			innerEnd = at(len(raw) - 1)
		} else {
			innerEnd = end
		}
	} else {
		end = pos.Advance(raw)
		if len(inner) >= 2 && inner[0] == '"' && inner[len(inner)-1] == '"' {
			inner = inner[1 : len(inner)-1]
			innerPos = pos.Advance(`"`)
		}
		innerEnd = innerPos.Advance(inner)
	}
	var parts []ast.StrPart
	if strings.IndexByte(inner, '\\') < 0 && strings.IndexByte(inner, '\n') < 0 {
		parts = splitPlain(inner, innerPos, innerEnd)
	} else {
		parts = splitParts(charsOf(inner, innerPos), true, innerEnd, diags)
	}
	return &ast.StringLit{Sp: ast.Sp{S: diag.Span{Start: pos, End: end}}, Raw: raw, Parts: parts}
}

// rawStringLit converts an r#"..."# token at pos.
func rawStringLit(raw string, pos diag.Pos, diags *diag.List) *ast.RawStringLit {
	end := pos.Advance(raw)
	inner := strings.TrimSuffix(strings.TrimPrefix(raw, `r#"`), `"#`)
	innerPos := pos.Advance(`r#"`)
	parts := splitParts(charsOf(inner, innerPos), false, innerPos.Advance(inner), diags)
	return &ast.RawStringLit{Sp: ast.Sp{S: diag.Span{Start: pos, End: end}}, Raw: raw, Value: inner, Parts: parts}
}

// cmdBlock converts a ```cmd ... ``` token: `\"` and `\n` escapes, common
// leading indentation removed, result trimmed (§3.6); interpolations keep
// their file positions.
func cmdBlock(raw string, pos diag.Pos, diags *diag.List) *ast.CmdBlock {
	end := pos.Advance(raw)
	inner := strings.TrimSuffix(strings.TrimPrefix(raw, "```cmd"), "```")
	innerPos := pos.Advance("```cmd")
	cs := charsOf(inner, innerPos)
	// Split into lines and find the common indentation of non-blank lines.
	var lines [][]pchar
	cur := []pchar{}
	for _, c := range cs {
		if c.c == '\n' {
			lines = append(lines, cur)
			cur = []pchar{}
			continue
		}
		cur = append(cur, c)
	}
	lines = append(lines, cur)
	indent := -1
	for i, l := range lines {
		if i == 0 {
			continue // the rest of the ```cmd line
		}
		n := 0
		for n < len(l) && (l[n].c == ' ' || l[n].c == '\t') {
			n++
		}
		if n == len(l) {
			continue
		}
		if indent < 0 || n < indent {
			indent = n
		}
	}
	if indent < 0 {
		indent = 0
	}
	var out []pchar
	for i, l := range lines {
		if i > 0 {
			if len(l) >= indent {
				l = l[indent:]
			} else {
				l = nil
			}
		}
		out = append(out, l...)
		if i < len(lines)-1 {
			nl := pchar{c: '\n', pos: innerPos}
			if len(l) > 0 {
				nl.pos = l[len(l)-1].pos.Advance("x")
			}
			out = append(out, nl)
		}
	}
	// Trim surrounding whitespace.
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(out) > 0 && isSpace(out[0].c) {
		out = out[1:]
	}
	for len(out) > 0 && isSpace(out[len(out)-1].c) {
		out = out[:len(out)-1]
	}
	// Only \" and \n are escapes in cmd blocks; other backslashes belong
	// to the shell.
	var proc []pchar
	for i := 0; i < len(out); i++ {
		if out[i].c == '\\' && i+1 < len(out) && (out[i+1].c == '"' || out[i+1].c == 'n') {
			c := out[i+1].c
			if c == 'n' {
				c = '\n'
			}
			proc = append(proc, pchar{c: c, pos: out[i].pos})
			i++
			continue
		}
		proc = append(proc, out[i])
	}
	cmdEnd := end
	if len(proc) > 0 {
		cmdEnd = proc[len(proc)-1].pos.Advance("x")
	}
	parts := splitParts(proc, false, cmdEnd, diags)
	sp := diag.Span{Start: pos, End: end}
	lit := &ast.StringLit{Sp: ast.Sp{S: sp}, Raw: raw, Parts: parts}
	return &ast.CmdBlock{Sp: ast.Sp{S: sp}, Raw: inner, Command: lit}
}

// ParseString splits a run-time string (a value read from a file or a
// command, or built by the runtime) into text and ${...} parts. Positions
// are relative to the string (line 1, column 1).
func ParseString(s string) ([]ast.StrPart, error) {
	var diags diag.List
	start := diag.Pos{Line: 1, Col: 1}
	parts := splitParts(charsOf(s, start), false, start.Advance(s), &diags)
	return parts, diags.Err()
}
