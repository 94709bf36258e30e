// Package stdlib assembles the registry of the built-in families that run
// on the runtime alone (gx, pg, redis, k8s, http, notify). The sys.* family sits
// in the system layer above: engine.Registry adds it.
package stdlib

import (
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/stdlib/gx"
	"github.com/gxl-dev/gxl/stdlib/httpcheck"
	"github.com/gxl-dev/gxl/stdlib/k8s"
	"github.com/gxl-dev/gxl/stdlib/notify"
	"github.com/gxl-dev/gxl/stdlib/pg"
	"github.com/gxl-dev/gxl/stdlib/redisha"
)

// Default returns a fresh registry with these families registered.
func Default() *builtin.Registry {
	r := builtin.NewRegistry()
	gx.Register(r)
	pg.Register(r)
	redisha.Register(r)
	k8s.Register(r)
	httpcheck.Register(r)
	notify.Register(r)
	return r
}
