package syntax

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Large files are parsed on every core. The items of a module body are
// independent (the grammar reads `gModItem*` between the braces), so a
// body can be cut between two items and the pieces parsed at the same time
// by the same grammar: the file parser reads a skeleton of the file that
// keeps each module's first piece, an items parser reads the other pieces,
// and the items are joined in order. The cuts are found on the tokens
// alone (see cuts); a cut in the wrong place can only make a piece fail to
// parse, and any failure, in any piece, throws the pieces away and parses
// the whole file again the ordinary way, so syntax errors are always those
// of the ordinary parse. TestSplitParseSame checks that the pieces give
// the tree the ordinary parse gives. Each piece is also converted to its
// AST on its core (converted), and the converter joins the parts in order.

// A file of many modules is cut between them instead (parseTop): each
// piece is a file of its own for the file parser.

// splitMin is the number of tokens from which a file is parsed in pieces
// (about 150 KB of GXL; real workflow files are a few KB and never are).
var splitMin = 40000

// splitPieces is the number of pieces a body is cut into at most; 0 means
// GOMAXPROCS.
var splitPieces = 0

// gItems is what the items parser reads: a run of module items. Tokens
// are the tokens it read: the last piece of a body is parsed in place,
// up to the body's `}` (see parseSplit).
type gItems struct {
	Tokens []lexer.Token
	Items  []*gModItem `parser:"@@*"`
}

var itemsParser = newParser[gItems]()

// tokenList replays tokens to lexer.Upgrade (peekingOf's fallback).
type tokenList struct {
	toks []lexer.Token
	i    int
}

func (l *tokenList) Next() (lexer.Token, error) {
	t := l.toks[l.i]
	if !t.EOF() {
		l.i++
	}
	return t, nil
}

// body is one module body to cut: the tokens between its braces are
// toks[open+1:close], cut at the indexes in at (each the index of the
// first token of a piece after the first).
type body struct {
	open, close int
	at          []int
}

// items scans toks from index from, at the depth of a list of items (a
// file or a module body), to the `}` that closes the list (close, -1 at
// the end of the input) and returns the places between two items: after
// a `}` or `;` at the list's own depth, before a token that is not `;`,
// `,` or `}` (those still belong to the item before). ok is false when a
// bracket is closed by the wrong kind: such a file has a syntax error,
// which the ordinary parse reports.
func items(toks []lexer.Token, from int) (close int, bounds []int, ok bool) {
	var stack []string
	for j := from; j < len(toks) && !toks[j].EOF(); j++ {
		t := toks[j]
		switch {
		case t.Type == tAnnOpen:
			stack = append(stack, "]")
		case t.Type == tPunct && (t.Value == "{" || t.Value == "(" || t.Value == "["):
			stack = append(stack, closerOf[t.Value])
		case t.Type == tPunct && (t.Value == "}" || t.Value == ")" || t.Value == "]"):
			if len(stack) == 0 {
				return j, bounds, t.Value == "}"
			}
			if stack[len(stack)-1] != t.Value {
				return -1, nil, false
			}
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 && t.Type == tPunct && (t.Value == "}" || t.Value == ";") {
			next := toks[j+1]
			if !next.EOF() && !(next.Type == tPunct && (next.Value == ";" || next.Value == "," || next.Value == "}")) {
				bounds = append(bounds, j+1)
			}
		}
	}
	return -1, bounds, len(stack) == 0
}

// pick chooses at most n-1 of the bounds, nearest to equal shares of the
// tokens from lo to hi.
func pick(bounds []int, lo, hi, n int) []int {
	var at []int
	k := 0
	for p := 1; p < n && len(bounds) > 0; p++ {
		want := lo + (hi-lo)*p/n
		for k < len(bounds)-1 && bounds[k] < want {
			k++
		}
		if len(at) == 0 || bounds[k] > at[len(at)-1] {
			at = append(at, bounds[k])
		}
	}
	return at
}

// cuts finds the module bodies of at least min tokens and where to cut
// each into at most n pieces. It returns nil when the brackets do not
// balance.
func cuts(toks []lexer.Token, n, min int) []body {
	var out []body
	depth := 0
	for i := 0; i < len(toks) && !toks[i].EOF(); i++ {
		t := toks[i]
		switch {
		case t.Type == tAnnOpen || (t.Type == tPunct && (t.Value == "{" || t.Value == "(" || t.Value == "[")):
			depth++
		case t.Type == tPunct && (t.Value == "}" || t.Value == ")" || t.Value == "]"):
			depth--
		case t.Type == tIdent && t.Value == "mod" && depth == 0 && !(i > 0 && toks[i-1].Value == "extern"):
			// The body of this module: the first `{` after its header.
			open := i + 1
			for open < len(toks) && (toks[open].Type == tIdent || (toks[open].Type == tPunct && strings.Contains(":,.", toks[open].Value))) {
				open++
			}
			if open >= len(toks) || toks[open].Type != tPunct || toks[open].Value != "{" {
				continue
			}
			close, bounds, ok := items(toks, open+1)
			if !ok || close < 0 {
				return nil
			}
			if close-open-1 >= min {
				if at := pick(bounds, open+1, close, n); len(at) > 0 {
					out = append(out, body{open: open, close: close, at: at})
				}
			}
			i = close
		}
	}
	return out
}

// parseSplit parses the file whose tokens are toks in pieces. It returns
// nil when the file is not worth cutting or when any piece fails; the
// caller then parses the file the ordinary way.
func parseSplit(toks []lexer.Token) (g *gFile) {
	n := splitPieces
	if n == 0 {
		n = min(goruntime.GOMAXPROCS(0), 8)
	}
	if n < 2 || len(toks) < splitMin {
		return nil
	}
	// The bodies to cut are found once (a pass over every token), and
	// only when parseTop needs them.
	var bodies []body
	found := false
	bodiesToCut := func() []body {
		if !found {
			bodies, found = cuts(toks, n, splitMin/n), true
		}
		return bodies
	}
	if g, ok := parseTop(toks, n, bodiesToCut); ok {
		return g
	}
	if len(bodiesToCut()) == 0 {
		return nil
	}
	// The skeleton: each cut body keeps its first piece.
	size := len(toks)
	for _, b := range bodies {
		size -= b.close - b.at[0]
	}
	skel := make([]lexer.Token, 0, size)
	type piece struct {
		toks []lexer.Token
		// inPlace: toks is the rest of the file from the piece's start, and
		// the piece ends at the `}` of its body, want tokens on.
		inPlace bool
		want    int
		conv    *converted
		err     error
	}
	var pieces [][]*piece // per body
	from := 0
	for _, b := range bodies {
		skel = append(skel, toks[from:b.at[0]]...)
		var ps []*piece
		for k, at := range b.at {
			end := b.close
			if k+1 < len(b.at) {
				end = b.at[k+1]
			} else {
				// The last piece ends at the body's `}`, where the items
				// parser stops by itself: it is read in place, not copied
				// (the tokens of a large file are megabytes).
				ps = append(ps, &piece{toks: toks[at:], inPlace: true, want: end - at})
				continue
			}
			// Any other piece ends with an EOF token where the next piece
			// starts.
			pt := make([]lexer.Token, 0, end-at+1)
			pt = append(pt, toks[at:end]...)
			pt = append(pt, lexer.EOFToken(toks[end].Pos))
			ps = append(ps, &piece{toks: pt})
		}
		pieces = append(pieces, ps)
		from = b.close
	}
	skel = append(skel, toks[from:]...)

	var wg sync.WaitGroup
	for _, ps := range pieces {
		for _, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					if r := recover(); r != nil {
						p.err = fmt.Errorf("internal parser error: %v", r)
					}
				}()
				gi, err := itemsParser.ParseFromLexer(peekingOf(p.toks), participle.AllowTrailing(p.inPlace))
				if err != nil {
					p.err = err
					return
				}
				if p.inPlace && len(gi.Tokens) != p.want {
					// Stopped before the `}`: a syntax error, which the
					// ordinary parse reports.
					p.err = fmt.Errorf("piece stopped at token %d of %d", len(gi.Tokens), p.want)
					return
				}
				// Converted here too, on this piece's core.
				c := &converter{}
				p.conv = &converted{items: c.modItems(nil, gi.Items), diags: c.diags}
			}()
		}
	}
	g, err := fileParser.ParseFromLexer(peekingOf(skel))
	if err != nil {
		wg.Wait()
		return nil
	}
	// The first piece of each cut body is converted here, on this core,
	// while the other pieces are still being parsed and converted on
	// theirs (converted after the join, it was a serial tail of the load).
	mods := map[int]*gMod{}
	cut := map[int]bool{}
	for _, b := range bodies {
		cut[toks[b.open].Pos.Offset] = true
	}
	for _, it := range g.Items {
		if m := it.Mod; m != nil {
			mods[m.Open.Pos.Offset] = m
			if cut[m.Open.Pos.Offset] {
				c := &converter{}
				m.first = &converted{items: c.modItems(nil, m.Items), diags: c.diags}
			}
		}
	}
	wg.Wait()
	// Join: the k-th cut body is the k-th module whose body was cut,
	// found by the position of its opening brace.
	for i, b := range bodies {
		m := mods[toks[b.open].Pos.Offset]
		if m == nil {
			return nil
		}
		for _, p := range pieces[i] {
			if p.err != nil {
				return nil
			}
			m.more = append(m.more, p.conv)
		}
	}
	return g
}

// parseTop parses a file of many top-level items in pieces cut between
// them. ok is false when the file has no top-level cut that leaves every
// piece under half the file (one module holds most of it: its body is cut
// instead); g is nil when a piece failed.
func parseTop(toks []lexer.Token, n int, bodies func() []body) (g *gFile, ok bool) {
	close, bounds, fine := items(toks, 0)
	if !fine || close >= 0 {
		return nil, false
	}
	at := pick(bounds, 0, len(toks)-1, n)
	if len(at) == 0 {
		return nil, false
	}
	// Balanced enough when no piece is half as big again as its share;
	// otherwise one module holds most of the file: cut its body instead.
	prev, biggest := 0, 0
	for _, a := range append(at[:len(at):len(at)], len(toks)-1) {
		biggest = max(biggest, a-prev)
		prev = a
	}
	if biggest*2*n > len(toks)*3 && len(bodies()) > 0 {
		return nil, false
	}
	pieces := make([]*gFile, len(at)+1)
	errs := make([]error, len(at)+1)
	var wg sync.WaitGroup
	from := 0
	for i := range pieces {
		end := len(toks) - 1
		if i < len(at) {
			end = at[i]
		}
		pt := make([]lexer.Token, 0, end-from+1)
		pt = append(pt, toks[from:end]...)
		pt = append(pt, lexer.EOFToken(toks[end].Pos))
		from = end
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("internal parser error: %v", r)
				}
			}()
			pieces[i], errs[i] = fileParser.ParseFromLexer(peekingOf(pt))
			if errs[i] != nil {
				return
			}
			// Converted here too, on this piece's core.
			for _, it := range pieces[i].Items {
				c := &converter{}
				it.conv = &converted{top: c.top(it), diags: c.diags}
			}
		}()
	}
	wg.Wait()
	g = &gFile{}
	for i, p := range pieces {
		if errs[i] != nil {
			return nil, true
		}
		g.Items = append(g.Items, p.Items...)
	}
	return g, true
}
