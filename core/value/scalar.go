package value

import (
	"strconv"
	"strings"
)

// The one reading of scalar text, shared by the GXL lexer and parser,
// `--set NAME=value`, typed system variables and built-in argument
// coercion (data formats such as YAML and JSON keep their own rules).

// boolWords are GXL's boolean words (spec: `true` `TRUE` `false` `FALSE`).
var boolWords = map[string]bool{"true": true, "TRUE": true, "false": false, "FALSE": false}

// ParseBool reads a boolean word.
func ParseBool(s string) (b, ok bool) {
	b, ok = boolWords[s]
	return b, ok
}

// IsBoolWord reports whether s is one of the boolean words.
func IsBoolWord(s string) bool {
	_, ok := boolWords[s]
	return ok
}

// isDigits reports whether s is one or more decimal digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseUint reads a GXL integer: decimal digits, 0 to 2^64-1. The error
// is strconv's (ErrSyntax or ErrRange).
func ParseUint(s string) (uint64, error) {
	if !isDigits(s) {
		return 0, &strconv.NumError{Func: "ParseUint", Num: s, Err: strconv.ErrSyntax}
	}
	return strconv.ParseUint(s, 10, 64)
}

// ParseNumber reads a GXL number: digits with an optional fraction and an
// optional leading `-` (no exponent, no sign on integers is handled by the
// caller: GXL integers are unsigned).
func ParseNumber(s string) (float64, bool) {
	t := strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(t, ".")
	if !isDigits(whole) || (hasFrac && !isDigits(frac)) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// ParseScalar reads text as GXL reads a scalar: a boolean word, an
// unsigned integer, a number with a fraction, otherwise the text itself
// as a string. Numbers are read only when written in their plain form
// ("007", "1.50" and "-3" stay strings: reading them would change the
// text).
func ParseScalar(s string) Value {
	if b, ok := ParseBool(s); ok {
		return Bool(b)
	}
	if u, err := ParseUint(s); err == nil && strconv.FormatUint(u, 10) == s {
		return Uint(u)
	}
	if strings.Contains(s, ".") {
		if f, ok := ParseNumber(s); ok && Float(f).String() == s {
			return Float(f)
		}
	}
	return Str(s)
}
