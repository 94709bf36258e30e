package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/gxl-dev/gxl/engine"
)

// fetchFlags are the module-fetching options of check, plan and run: they
// serve git externs and the sys.fetch built-in alike.
type fetchFlags struct {
	mirrors []string
	offline bool
}

func (f *fetchFlags) bind(fl *pflag.FlagSet) {
	fl.StringArrayVar(&f.mirrors, "mirror", nil, "fetch FROM-prefixed git addresses from TO instead: --mirror FROM=TO (repeatable; also GXL_MIRRORS=FROM=TO,...)")
	fl.BoolVar(&f.offline, "offline", false, "fetch nothing: git externs and modules come from the module cache only")
}

// all returns the mirrors of the flags, then of GXL_MIRRORS.
func (f *fetchFlags) all() []string {
	return append(append([]string(nil), f.mirrors...), os.Getenv("GXL_MIRRORS"))
}

// options are the engine options of the flags.
func (f *fetchFlags) options() []engine.Option {
	return []engine.Option{engine.WithMirrors(f.all()...), engine.WithOffline(f.offline)}
}
