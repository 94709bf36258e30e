package syntax

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/gxl-dev/gxl/core/diag"
)

// Syntax errors point at the culprit. The grammar runs with unlimited
// lookahead, so participle's error is the one at the furthest token any
// alternative reached, with the grammar node it expected there; parseError
// words that node ("expected `{`"), names the token found, the token
// before it, and the innermost bracket still open at that point (found by
// scanning the tokens again, which only happens on an error).

// CodeIncomplete is the code of a syntax error at the end of the input:
// more text would be needed (the REPL reads another line).
const CodeIncomplete = "incomplete"

// parseError turns participle's error into a diagnostic in the words of
// the language. rescan returns a fresh scanner over the same input; top
// says what the input holds at its top level ("`mod` or `extern`" in a
// file, "a statement" at the REPL), expected where participle names
// nothing.
func parseError(err error, filename string, rescan func() *scanner, top string) diag.Diagnostic {
	var ute *participle.UnexpectedTokenError
	if errors.As(err, &ute) {
		t := ute.Unexpected
		start := toDiagPos(t.Pos)
		end := start.Advance(t.Value)
		if t.EOF() {
			end = start
		}
		ctx := bracketsBefore(rescan(), t.Pos.Offset)
		ctx.top = top
		expect := expected(ute)
		if in, ok := ctx.unclosed(t); ok {
			// The input ended inside a bracket: the culprit is the bracket.
			start = in.pos
			end = start.Advance(in.text)
		}
		code := "syntax"
		if t.EOF() {
			code = CodeIncomplete
		}
		d := diag.Errorf(diag.Span{Start: start, End: end}, code, "%s", ctx.summary(t, expect))
		d.Hint = ctx.hint(t, expect)
		return d
	}
	var pe participle.Error
	if errors.As(err, &pe) {
		start := toDiagPos(pe.Position())
		return diag.Errorf(diag.Span{Start: start, End: start}, "syntax", "%s", pe.Message())
	}
	return diag.Errorf(diag.Span{Start: diag.Pos{File: filename}}, "syntax", "%v", err)
}

// expectRE extracts the grammar fragment participle expected.
var expectRE = regexp.MustCompile(`\(expected (.*)\)$`)

// nodeWords names the first token of each grammar type.
var nodeWords = map[string]string{
	"GBlock": "`{`", "GBraces": "`{`", "GObj": "`{`", "GList": "`[`",
	"GCallArgs": "`(`", "GValue": "a value", "GIdent": "a name", "GPath": "a name",
	"GRef": "a name or ${...}", "GOr": "a condition", "GAnd": "a condition", "GCmp": "a condition",
	"GUnary": "a condition", "GPrim": "a condition", "GParam": "a parameter name", "GArg": "a value",
	"GAnn": "an annotation name", "GAnnArg": "a value", "GElseIf": "`else if`", "GStmt": "a statement",
	"GModItem": "a flow, env, fn or activity", "GExternProp": "a name", "GBraceEntry": "a name",
	"GObjEntry": "a name", "GDefined": "`defined`", "GTop": "`mod` or `extern`",
}

var tokenWords = map[string]string{
	"<ident>": "a name", "<string>": "a string", "<varref>": "a ${...} reference", "<int>": "a number",
	"<float>": "a number", "<annopen>": "`#[`", "<cmdblock>": "a ```cmd block", "<rawstring>": "a raw string", "<bool>": "a boolean",
}

// expected words the first element of what participle expected ("" when
// it did not say).
func expected(ute *participle.UnexpectedTokenError) string {
	e := ute.Expect
	if m := expectRE.FindStringSubmatch(ute.Message()); m != nil {
		e = m[1]
	}
	e = strings.TrimLeft(strings.TrimSpace(e), "(")
	if e == "" {
		return ""
	}
	if e[0] == '"' {
		if i := strings.IndexByte(e[1:], '"'); i >= 0 {
			return "`" + e[1:1+i] + "`"
		}
	}
	first := e
	if i := strings.IndexAny(e, " |)"); i >= 0 {
		first = e[:i]
	}
	first = strings.TrimRight(first, "*?+")
	if w, ok := nodeWords[first]; ok {
		return w
	}
	if w, ok := tokenWords[strings.ToLower(first)]; ok {
		return w
	}
	return "`" + first + "`"
}

// open is a bracket still open before the error token.
type open struct {
	text string // { ( [ #[
	pos  diag.Pos
}

var closerOf = map[string]string{"{": "}", "(": ")", "[": "]", "#[": "]"}

// errContext is what the tokens before the error token say.
type errContext struct {
	stack []open
	prev  lexer.Token // the token before the error token (Type 0: none)
	// top is what the input holds at its top level (parseError).
	top string
	// closed is the bracket prev closed, when prev is a closer.
	closed *open
	// stray is set when the error token closes a bracket that is not open.
	stray bool
	// suspect is the first `{` whose `}` sits left of the line that
	// opened it: that `}` most likely belongs to an outer block, so this
	// `{` is the one never closed (used when the input ends unclosed).
	suspect *open
}

// indentAt is the indentation of the line holding offset off, and whether
// only blanks precede off on that line.
func indentAt(src []byte, off int) (indent int, first bool) {
	start := off
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	for indent = 0; start+indent < off && (src[start+indent] == ' ' || src[start+indent] == '\t'); indent++ {
	}
	return indent, start+indent == off
}

// bracketsBefore scans the input up to offset off.
func bracketsBefore(sc *scanner, off int) errContext {
	var c errContext
	for {
		t, _ := sc.Next()
		if t.EOF() || t.Type == tError {
			return c
		}
		if t.Pos.Offset >= off {
			if len(c.stack) == 0 && (t.Value == "}" || t.Value == ")" || t.Value == "]") {
				c.stray = true
			}
			return c
		}
		switch t.Type {
		case tWhitespace, tComment:
			continue
		case tAnnOpen:
			c.stack = append(c.stack, open{"#[", toDiagPos(t.Pos)})
		case tPunct:
			switch t.Value {
			case "{", "(", "[":
				c.stack = append(c.stack, open{t.Value, toDiagPos(t.Pos)})
			case "}", ")", "]":
				if len(c.stack) == 0 {
					break
				}
				top := c.stack[len(c.stack)-1]
				c.stack = c.stack[:len(c.stack)-1]
				c.prev, c.closed = t, &top
				if t.Value != "}" || top.text != "{" || c.suspect != nil {
					continue
				}
				at, first := indentAt(sc.src, t.Pos.Offset)
				if opened, _ := indentAt(sc.src, top.pos.Offset); first && at < opened {
					c.suspect = &top
				}
				continue
			}
		}
		c.prev, c.closed = t, nil
	}
}

func (c errContext) innermost() (open, bool) {
	if len(c.stack) == 0 {
		return open{}, false
	}
	return c.stack[len(c.stack)-1], true
}

// unclosed is the bracket never closed when the input ends at t.
func (c errContext) unclosed(t lexer.Token) (open, bool) {
	in, isOpen := c.innermost()
	if !t.EOF() || !isOpen {
		return open{}, false
	}
	if c.suspect != nil && in.text == "{" {
		in = *c.suspect
	}
	return in, true
}

// operatorTypos are operators of other languages, written as two tokens
// (or a word), and what GXL writes for them.
var operatorTypos = map[string]string{
	"<>": "!=", "===": "==", "!==": "!=", "=>": ">=", "=<": "<=",
	"and": "&&", "or": "||", "not": "!",
}

// definedInMod are the definitions a mod holds.
var definedInMod = map[string]string{"flow": "a flow", "env": "an env", "fn": "a fn", "activity": "an activity"}

var cmpOps = map[string]bool{"==": true, "!=": true, "=*": true, "<=": true, ">=": true, "<": true, ">": true, "=": true}

// mismatched says whether t is a closer of another kind than the
// innermost open bracket, where the parser did not expect that bracket's
// closer (`x = 1) ;` in a block; `f(a]` names the `(` left open instead).
func (c errContext) mismatched(t lexer.Token, expect string) bool {
	in, ok := c.innermost()
	if !ok || t.Type != tPunct || (t.Value != "}" && t.Value != ")" && t.Value != "]") {
		return false
	}
	return closerOf[in.text] != t.Value && expect != "`"+closerOf[in.text]+"`"
}

// objectBefore says whether a block's `{` was expected right after a
// `{...}` the parser read as an object value: `if { }` and `for ${X} in { }`
// took the block for the value (the condition or list is missing).
func (c errContext) objectBefore(expect string) bool {
	return expect == "`{`" && c.closed != nil && c.closed.text == "{"
}

func (c errContext) isInnermost(text string) bool {
	in, ok := c.innermost()
	return ok && in.text == text
}

func (c errContext) summary(t lexer.Token, expect string) string {
	in, isOpen := c.innermost()
	if u, ok := c.unclosed(t); ok {
		return fmt.Sprintf("the `%s` opened at %s is never closed", u.text, u.pos)
	}
	switch {
	case c.stray:
		return fmt.Sprintf("%s closes nothing: no bracket is open here", describeToken(t))
	case c.mismatched(t, expect):
		return fmt.Sprintf("%s closes nothing here: the innermost open bracket is the `%s` opened at %s", describeToken(t), in.text, in.pos)
	}
	var b strings.Builder
	if expect == "" && len(c.stack) == 0 {
		// participle names nothing when the top level's items stop.
		expect = c.top
	}
	if expect == "a condition" && c.prev.Type == tPunct && cmpOps[c.prev.Value] {
		// The right side of a comparison is a value.
		expect = "a value"
	}
	if expect != "" {
		fmt.Fprintf(&b, "expected %s", expect)
		switch {
		case c.objectBefore(expect):
			fmt.Fprintf(&b, " after the object `{...}` opened at %s", c.closed.pos)
		case c.prev.Type != 0:
			fmt.Fprintf(&b, " after %s", describeToken(c.prev))
		}
		fmt.Fprintf(&b, ", found %s", describeToken(t))
	} else {
		fmt.Fprintf(&b, "unexpected %s", describeToken(t))
	}
	if isOpen && expect == "`"+closerOf[in.text]+"`" {
		fmt.Fprintf(&b, " (the `%s` opened at %s is not closed)", in.text, in.pos)
	}
	return b.String()
}

// hint suggests a fix; the closers of the brackets opened since the
// innermost block come first.
func (c errContext) hint(t lexer.Token, expect string) string {
	var closers []string
	for i := len(c.stack) - 1; i >= 0 && c.stack[i].text != "{"; i-- {
		closers = append(closers, closerOf[c.stack[i].text])
	}
	switch {
	case t.EOF():
		if u, ok := c.unclosed(t); ok {
			return "the input ends before its `" + closerOf[u.text] + "`; add it where the construct ends"
		}
		return "the input ends too early"
	case c.stray:
		return "remove it, or check the brackets before it: one of them is closed twice"
	case c.mismatched(t, expect):
		in, _ := c.innermost()
		return "remove it, or close the `" + in.text + "` first with `" + closerOf[in.text] + "`"
	case len(c.stack) == 0 && c.top == nodeWords["GTop"] && t.Type == tIdent && definedInMod[t.Value] != "":
		return definedInMod[t.Value] + " is defined inside a mod: mod main { " + t.Value + " ... }"
	case c.prev.Type == tPunct && t.Type == tPunct && operatorTypos[c.prev.Value+t.Value] != "":
		return "write `" + operatorTypos[c.prev.Value+t.Value] + "`"
	case t.Type == tIdent && operatorTypos[t.Value] != "" && (expect == "`{`" || expect == "a condition"):
		return "conditions combine with `" + operatorTypos[t.Value] + "`"
	case t.Type == tString && c.prev.Type == tPunct && (c.prev.Value == "{" || c.prev.Value == ",") && c.isInnermost("{"):
		return "object keys are bare names, not strings: {name: \"value\"}"
	case t.Type == tIdent && t.Value == "else":
		return "`else` follows the `}` of an `if` block directly: `if ... { } else { }`"
	case t.Type == tAnnOpen && len(c.stack) > 1:
		return "annotations go before mod, env, flow, fn or activity, not before statements"
	case c.prev.Type == tIdent && definedInMod[c.prev.Value] != "" && expect == "`=`" && len(c.stack) > 1:
		// `flow b { }` inside a flow: read as an assignment to `flow`.
		return definedInMod[c.prev.Value] + " is defined directly in a mod, not inside a flow or block"
	case c.prev.Type == tIdent && (c.prev.Value == "mod" || c.prev.Value == "extern") && expect == "`=`" && len(c.stack) > 0:
		return c.prev.Value + " declarations go at the top level of the file"
	case c.objectBefore(expect):
		return fmt.Sprintf("the `{` at %s was read as an object value, written {key: value}; if it opens the block, the condition or value before it is missing", c.closed.pos)
	case expect == "`:`" && c.isInnermost("{"):
		// The parser read the `{` as an object literal ({key: value}).
		in, _ := c.innermost()
		return fmt.Sprintf("the `{` at %s was read as an object, written {key: value}; if it opens a block, something is missing before it (a value after an operator?)", in.pos)
	case len(closers) > 0:
		return "close what is open with `" + strings.Join(closers, "") + "`"
	case t.Value == "}":
		return "a statement or value may be incomplete before this brace"
	case t.Type == tIdent && !keywords[t.Value] && expect != "a value" && expect != "a condition" &&
		diag.DidYouMean(t.Value, keywordList) != "":
		// A misspelt keyword where the grammar wanted punctuation or a
		// keyword (`else iff`), not where a name could be a value.
		return diag.DidYouMean(t.Value, keywordList)
	case t.Type == tIdent && (t.Value == "extern"):
		return "extern declarations go at the top level, outside mods"
	case t.Type == tIdent && isDigit(t.Value[0]):
		return numberHint(t.Value)
	case t.Type == tIdent:
		return "statements end with `;` and names in values are written ${NAME} or quoted"
	}
	return ""
}
