package shell

import (
	"testing"

	"github.com/gxl-dev/gxl/core/value"
)

func TestPrepareCommand(t *testing.T) {
	vals := map[string]string{"A": "x y", "Q": "it's"}
	script, env, err := PrepareCommand(`echo ${A} "${A}" '${Q}' ${MISSING:dflt}`, func(n string) (vv value.Value, ok bool) {
		s, ok := vals[n]
		return value.Str(s), ok
	})
	if err != nil {
		t.Fatal(err)
	}
	if script != `echo ${__GXL_0} "${__GXL_1}" 'it'\''s' ${__GXL_2}` {
		t.Errorf("script %q", script)
	}
	if env["__GXL_0"] != "x y" || env["__GXL_2"] != "dflt" {
		t.Errorf("env %v", env)
	}
	if _, _, err := PrepareCommand(`echo ${NOPE}`, func(string) (value.Value, bool) { return value.Value{}, false }); err == nil {
		t.Error("missing variable accepted")
	}
}
