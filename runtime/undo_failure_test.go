package runtime_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/runtime"
)

// TestUndoSeesTheFailure: each undo flow sees the failure that started the
// compensation in FAILED_* (an undo alerts with the reason), secrets
// masked; a run that did not fail leaves them empty.
func TestUndoSeesTheFailure(t *testing.T) {
	const prog = `
mod envs { env default { } }
mod main {
    flow ok { gx.echo("ok flow=[${FAILED_FLOW}] error=[${FAILED_ERROR}]"); }
    flow fails | step1 | step2;
    #[transaction, undo(_undo1)]
    flow step1 { gx.echo("step1"); }
    #[undo(_undo2)]
    flow step2 { gx.assert(value: "${SEC_TOKEN}-broken", expect: "ready"); }
    flow _undo1 { gx.echo("undo1 module=[${FAILED_MODULE}] flow=[${FAILED_FLOW}] at=[${FAILED_AT}] error=[${FAILED_ERROR}]"); }
    flow _undo2 { gx.echo("undo2 flow=[${FAILED_FLOW}]"); }
}`
	for _, c := range []struct {
		flow string
		want []string
	}{
		{"ok", []string{"ok flow=[] error=[]"}},
		{"fails", []string{
			"undo2 flow=[main.step2]",
			"undo1 module=[main] flow=[main.step2] at=[",
			"work.gxl:9:18] error=[gx.assert: ",
		}},
	} {
		t.Run(c.flow, func(t *testing.T) {
			dir := writeProgram(t, prog)
			res := runCase(t, dir, []string{c.flow}, runtime.Options{Sets: map[string]value.Value{"SEC_TOKEN": value.Str("s3cr3t-t0ken").AsSecret()}})
			if (res.err != nil) != (c.flow == "fails") {
				t.Fatalf("err = %v\n%s", res.err, res.stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, res.stdout)
				}
			}
			if strings.Contains(res.stdout, "s3cr3t") {
				t.Errorf("the secret in the undo's FAILED_ERROR:\n%s", res.stdout)
			}
		})
	}
}

// TestUndoSeesTheSignal: a run cancelled by a signal runs its undo with
// FAILED_ERROR naming the signal.
func TestUndoSeesTheSignal(t *testing.T) {
	dir := writeProgram(t, `
mod envs { env default { } }
mod main {
    flow all | step1;
    #[transaction, undo(_undo1)]
    flow step1 { gx.cmd("touch started; sleep 30"); }
    flow _undo1 { gx.echo("undo error=[${FAILED_ERROR}]"); }
}`)
	prog := load(t, filepath.Join(dir, "work.gxl"))
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		for i := 0; i < 500; i++ {
			if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel(&builtin.SignalError{Signal: "SIGTERM"})
	}()
	var out bytes.Buffer
	r := runtime.New(prog, runtime.Options{Dir: dir, Stdout: &out, Stderr: &out, SecretsFile: filepath.Join(dir, "none")})
	if err := r.Run(ctx, []string{"default"}, []string{"all"}); err == nil {
		t.Fatal("the cancelled run succeeded")
	}
	if !strings.Contains(out.String(), "undo error=[cancelled by signal SIGTERM]") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestHaltStopsTheUndo: the undo of a cancelled run runs on after the
// cancel, until Options.Halt ends: its running command is cancelled and
// the statements and undo flows after it do not run. Without a halt the
// same undo runs to its end.
func TestHaltStopsTheUndo(t *testing.T) {
	for _, halt := range []bool{false, true} {
		t.Run(map[bool]string{false: "no halt", true: "halt"}[halt], func(t *testing.T) {
			dir := writeProgram(t, `
mod envs { env default { } }
mod main {
    flow all | step1 | step2;
    #[transaction, undo(_undo1)]
    flow step1 { gx.echo("step1"); }
    #[undo(_undo2)]
    flow step2 { gx.cmd("touch started; sleep 30"); }
    flow _undo1 { gx.cmd("touch undo1"); }
    flow _undo2 { gx.cmd("touch undo2-started; sleep 1"); gx.cmd("touch undo2-done"); }
}`)
			prog := load(t, filepath.Join(dir, "work.gxl"))
			exists := func(f string) bool { _, err := os.Stat(filepath.Join(dir, f)); return err == nil }
			waitFor := func(f string) {
				for i := 0; i < 1000 && !exists(f); i++ {
					time.Sleep(10 * time.Millisecond)
				}
			}
			ctx, cancel := context.WithCancelCause(context.Background())
			hctx, stop := context.WithCancelCause(context.Background())
			defer stop(nil)
			go func() {
				waitFor("started")
				cancel(&builtin.SignalError{Signal: "SIGTERM"})
				if halt {
					waitFor("undo2-started")
					stop(&builtin.SignalError{Signal: "SIGTERM"})
				}
			}()
			opt := runtime.Options{Dir: dir, Quiet: true, SecretsFile: filepath.Join(dir, "none")}
			if halt {
				opt.Halt = hctx
			}
			began := time.Now()
			if err := runtime.New(prog, opt).Run(ctx, []string{"default"}, []string{"all"}); err == nil {
				t.Fatal("the cancelled run succeeded")
			}
			if halt {
				if exists("undo2-done") || exists("undo1") {
					t.Errorf("the undo went on after the halt: undo2-done %v, undo1 %v", exists("undo2-done"), exists("undo1"))
				}
				if d := time.Since(began); d > 5*time.Second {
					t.Errorf("the halted run took %s", d)
				}
			} else if !exists("undo2-done") || !exists("undo1") {
				t.Errorf("the undo did not run to its end: undo2-done %v, undo1 %v", exists("undo2-done"), exists("undo1"))
			}
		})
	}
}
