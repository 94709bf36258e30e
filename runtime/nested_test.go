package runtime

import (
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
)

// RunNestedProgram accepts only the Ctx the runtime created: a foreign
// one (a test fake, another implementation) is an error, not a panic.
func TestRunNestedProgramForeignCtx(t *testing.T) {
	type foreign struct{ builtin.Ctx }
	err := RunNestedProgram(foreign{}, &check.Program{}, builtin.NestedRun{})
	if err == nil || !strings.Contains(err.Error(), "not a built-in context of the runtime") {
		t.Fatalf("foreign Ctx: %v", err)
	}
}
