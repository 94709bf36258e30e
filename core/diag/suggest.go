package diag

import (
	"fmt"
	"strings"
)

// Suggest returns the candidate closest to name, or "" when none is close
// enough to be a plausible typo. Comparison ignores case, so a wrongly cased
// name is always suggested.
func Suggest(name string, candidates []string) string {
	best, bestDist := "", -1
	lname := strings.ToLower(name)
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := levenshtein(lname, strings.ToLower(c))
		limit := max(1, min(3, (len(name)+1)/3))
		if strings.EqualFold(c, name) {
			d = 0
		} else if d >= len(lname) {
			continue // nothing in common: not a typo
		}
		if d <= limit && (bestDist < 0 || d < bestDist || (d == bestDist && c < best)) {
			best, bestDist = c, d
		}
	}
	return best
}

// DidYouMean formats a "did you mean `x`?" hint, or returns "".
func DidYouMean(name string, candidates []string) string {
	if s := Suggest(name, candidates); s != "" {
		return fmt.Sprintf("did you mean `%s`?", s)
	}
	return ""
}

// Suggest sets d's hint to "did you mean `x`?" for the candidate x closest
// to name, written at sp, and its fix to the edit that writes x there; it
// reports whether a candidate was close enough (else d is unchanged).
func (d *Diagnostic) Suggest(sp Span, name string, candidates []string) bool {
	s := Suggest(name, candidates)
	if s == "" {
		return false
	}
	d.Hint = fmt.Sprintf("did you mean `%s`?", s)
	d.Fix = &Fix{Span: sp, Old: name, New: s}
	return true
}

// levenshtein is the optimal-string-alignment distance: insertions,
// deletions, substitutions and adjacent transpositions cost 1.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
