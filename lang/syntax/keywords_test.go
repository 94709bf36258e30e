package syntax

import (
	"slices"
	"testing"
)

// TestGrammarWords checks that the words are read from the grammar: every
// construct keyword of the lexer's list, the words only the grammar knows,
// and nothing that is punctuation.
func TestGrammarWords(t *testing.T) {
	got := GrammarWords()
	want := append(slices.Clone(keywordList), "defined", "gx")
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("GrammarWords() = %q lacks %q", got, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("GrammarWords() = %q, want the %d words %q", got, len(want), want)
	}
}
