package engine

import (
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/stdlib"
	"github.com/gxl-dev/gxl/system/operator"
	"github.com/gxl-dev/gxl/system/sysops"
)

// Registry returns a fresh registry of every built-in: the families of
// stdlib and the system layer's sys.* and operate.* built-ins.
func Registry() *builtin.Registry {
	r := stdlib.Default()
	sysops.Register(r)
	operator.Register(r)
	return r
}
