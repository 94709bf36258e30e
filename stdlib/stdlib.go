// Package stdlib assembles the registry of every built-in family.
package stdlib

import (
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/stdlib/gx"
	"github.com/gxl-dev/gxl/stdlib/httpcheck"
	"github.com/gxl-dev/gxl/stdlib/k8s"
	"github.com/gxl-dev/gxl/stdlib/pg"
	"github.com/gxl-dev/gxl/stdlib/redisha"
	"github.com/gxl-dev/gxl/system/sysops"
)

// Default returns a fresh registry with every built-in family registered.
func Default() *builtin.Registry {
	r := builtin.NewRegistry()
	gx.Register(r)
	pg.Register(r)
	redisha.Register(r)
	k8s.Register(r)
	httpcheck.Register(r)
	sysops.Register(r)
	return r
}
