package format

import (
	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/syntax"
)

// Source formats the text of one file (gxl fmt, gxl lsp) and verifies that
// the result means the same: a file with syntax errors, or whose
// formatting would change its tree, gives diagnostics (and no text for
// the former).
func Source(path string, src []byte) ([]byte, diag.List) {
	f, ds := syntax.Parse(path, src)
	if ds.HasErrors() || f == nil {
		return nil, ds
	}
	out := File(f)
	g, ds2 := syntax.Parse(path, out)
	if ds2.HasErrors() || g == nil || !SameTree(f, g) {
		ds.Add(diag.Errorf(diag.Span{Start: diag.Pos{File: path}}, "fmt-internal",
			"formatting %s would change its meaning; the file was left as it is", path).
			WithHint("please report this as a gxl bug with the file attached"))
	}
	return out, ds
}
