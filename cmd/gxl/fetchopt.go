package main

import (
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/system/fetch"
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

// fetcher builds the module fetcher; update refreshes cached checkouts.
func (f *fetchFlags) fetcher(update bool) (*fetch.Fetcher, error) {
	ms, err := fetch.ParseMirrors(f.all()...)
	if err != nil {
		return nil, failf(exitUsage, "%v", err)
	}
	return &fetch.Fetcher{Offline: f.offline, Update: update, Mirrors: ms}, nil
}

// vars are the variables sys.fetch reads the same options from.
func (f *fetchFlags) vars() map[string]value.Value {
	return map[string]value.Value{
		"GXL_MIRRORS": value.Str(strings.Join(f.all(), ",")),
		"GXL_OFFLINE": value.Bool(f.offline),
	}
}
