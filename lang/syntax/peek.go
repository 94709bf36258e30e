package syntax

import (
	"reflect"
	"unsafe"

	"github.com/alecthomas/participle/v2/lexer"
)

// Handing participle a token array it can read in place.
//
// lexer.Upgrade, the only exported way to build a PeekingLexer, appends the
// tokens one at a time to a slice that starts empty: for the 120,000 tokens
// of a 10,000-flow workflow that is about twenty reallocations and copies of
// a 7 MB array, a tenth of the whole run's CPU. The scanner has already
// produced the array (ending with EOF), and the PeekingLexer never writes to
// it, so peekingOf gives it the array itself.
//
// The PeekingLexer's fields are unexported; peekingView mirrors them. The
// mirror is used only when reflection confirms, field by field (name, type
// and offset), that it matches the participle version compiled in; with any
// other layout peekingOf falls back to lexer.Upgrade, so a participle
// upgrade can make parsing slower but never wrong (TestPeekingLayout fails
// then, to say so).
type peekingView struct {
	lexer.Checkpoint
	tokens []lexer.Token
	elide  map[lexer.TokenType]bool
}

var peekingInPlace = sameLayout(reflect.TypeOf(lexer.PeekingLexer{}), reflect.TypeOf(peekingView{}))

// sameLayout reports whether two struct types have the same size and the
// same fields (names, types and offsets) in the same order.
func sameLayout(a, b reflect.Type) bool {
	if a.Kind() != reflect.Struct || b.Kind() != reflect.Struct || a.Size() != b.Size() || a.NumField() != b.NumField() {
		return false
	}
	for i := 0; i < a.NumField(); i++ {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Type != fb.Type || fa.Offset != fb.Offset {
			return false
		}
	}
	return true
}

// peekingOf returns a PeekingLexer over toks, which must end with an EOF
// token and must not change while the lexer is in use.
func peekingOf(toks []lexer.Token) *lexer.PeekingLexer {
	if peekingInPlace && len(toks) > 0 && toks[len(toks)-1].EOF() {
		// No token type is elided (the scanner drops whitespace and
		// comments itself), so the cursors start at 0, which is where
		// Upgrade's advanceToNonElided would leave them.
		return (*lexer.PeekingLexer)(unsafe.Pointer(&peekingView{tokens: toks}))
	}
	pl, err := lexer.Upgrade(&tokenList{toks: toks})
	if err != nil {
		panic(err) // tokenList never fails
	}
	return pl
}
