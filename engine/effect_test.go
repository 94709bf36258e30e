package engine_test

import (
	"testing"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// Every built-in of the engine's registry declares its effect: the
// journal, the dry-run warnings and gxl plan read it, and a built-in
// registered without one would silently count as changing the world.
func TestEveryBuiltinDeclaresItsEffect(t *testing.T) {
	reg := engine.Registry()
	for _, n := range reg.Names() {
		b, _ := reg.Lookup(n)
		if b.Effect == builtin.Undeclared {
			t.Errorf("%s declares no Effect (builtin.Pure, Reads, Changes or Runs)", n)
		}
	}
}

// The effects of a few built-ins, as the dry-run warnings rely on them.
func TestBuiltinEffects(t *testing.T) {
	reg := engine.Registry()
	for name, want := range map[string]builtin.Effect{
		"gx.echo": builtin.Pure, "gx.assert": builtin.Pure,
		"gx.cmd": builtin.Changes, "gx.shell": builtin.Changes, "gx.tpl": builtin.Changes, "gx.untar": builtin.Changes,
		"k8s.apply": builtin.Changes, "k8s.get": builtin.Reads, "pg.exec": builtin.Changes,
		"sys.fetch": builtin.Changes, "sys.stage": builtin.Runs, "gx.run": builtin.Runs,
	} {
		b, ok := reg.Lookup(name)
		if !ok {
			t.Errorf("%s is not registered", name)
			continue
		}
		if b.Effect != want {
			t.Errorf("%s: effect %s, want %s", name, b.Effect, want)
		}
	}
}
