// Package layers states gxl's package layers and checks that imports point
// down only (docs/architecture.md). Its test runs `go list` over the module
// and fails on an import that points up, or on a package no layer claims.
package layers

import (
	"fmt"
	"sort"
	"strings"
)

// Layer is one layer, bottom (1) to top.
type Layer struct {
	N    int
	Name string
	// Packages are import paths relative to the module; "x/..." claims x
	// and everything under it.
	Packages []string
}

// Layers is the architecture, bottom to top. A package may import its own
// layer and the layers below. Test files are not checked: a test may
// import upward (a checker test that loads the full built-in registry from
// engine, say), since nothing imports a test.
var Layers = []Layer{
	{1, "core", []string{"core/..."}},
	{2, "syntax", []string{"lang/ast", "lang/syntax", "lang/format"}},
	{3, "registry", []string{"lang/builtin", "lang/predef"}},
	{4, "checker", []string{"lang/check", "lang/complete"}},
	{5, "runtime", []string{"runtime/..."}},
	{6, "built-in families", []string{"stdlib/..."}},
	{7, "system", []string{"system/..."}},
	{8, "engine", []string{"engine/..."}},
	{9, "front ends and dev support", []string{"repl/...", "lsp/...", "cmd/...", "bench/...", "internal/...", "deploy"}},
}

// Of returns the layer claiming pkg (relative to the module), or nil.
func Of(pkg string) *Layer {
	var best *Layer
	bestLen := -1
	for i := range Layers {
		for _, p := range Layers[i].Packages {
			root, tree := strings.CutSuffix(p, "/...")
			if pkg == root || (tree && strings.HasPrefix(pkg, root+"/")) {
				if len(root) > bestLen {
					best, bestLen = &Layers[i], len(root)
				}
			}
		}
	}
	return best
}

// Violations lists every import of imports (package → its imports, all
// relative to the module; imports outside the module left out) that points
// to a higher layer, and every package no layer claims.
func Violations(imports map[string][]string) []string {
	var out []string
	for pkg, deps := range imports {
		from := Of(pkg)
		if from == nil {
			out = append(out, fmt.Sprintf("%s: no layer claims this package (add it to internal/layers.Layers)", pkg))
			continue
		}
		for _, d := range deps {
			to := Of(d)
			if to == nil {
				out = append(out, fmt.Sprintf("%s imports %s, which no layer claims", pkg, d))
			} else if to.N > from.N {
				out = append(out, fmt.Sprintf("%s (layer %d, %s) imports %s (layer %d, %s): imports must point down", pkg, from.N, from.Name, d, to.N, to.Name))
			}
		}
	}
	sort.Strings(out)
	return out
}
