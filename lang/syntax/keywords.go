package syntax

import (
	"regexp"
	"sort"
)

// GrammarWords returns the words the grammar matches literally — `mod`,
// `flow`, `if`, `defined`, `gx` and the rest — sorted. They are read from
// the parsers' own EBNF, so a word added to a rule of grammar.go is listed
// here with no second list to keep; the editor grammars are tested against
// this list (internal/editors).
func GrammarWords() []string {
	seen := map[string]bool{}
	for _, ebnf := range []string{fileParser.String(), stmtsParser.String(), condParser.String()} {
		for _, m := range quotedWordRE.FindAllStringSubmatch(ebnf, -1) {
			seen[m[1]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// quotedWordRE is a literal word of participle's EBNF: "mod".
var quotedWordRE = regexp.MustCompile(`"([A-Za-z_][A-Za-z0-9_]*)"`)
