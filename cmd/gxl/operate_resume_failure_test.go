package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOperateResumedFailureRunsOnFailure: a triggered run killed with
// SIGKILL and resumed by the next operator, which then fails, has its
// flow's #[on_failure] flow run, with the failure in FAILED_* — as the run
// it goes on would have.
func TestOperateResumedFailureRunsOnFailure(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "w.gxl": `
mod main {
    #[every("1h"), on_failure(alert)]
    flow step {
        gx.cmd("echo a >> log.txt");
        gx.cmd("touch started; if [ -f fail-now ]; then exit 3; fi; sleep 60");
    }
    flow alert {
        gx.cmd("echo ${FAILED_FLOW} >> handled.txt");
    }
}
`})
	cmd, _ := startOperate(t, dir, "w.gxl")
	waitUntil(t, "the flow to start", func() bool {
		_, err := os.Stat(filepath.Join(dir, "started"))
		return err == nil
	})
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "handled.txt")); err == nil {
		t.Fatal("the failure was handled before the run failed")
	}
	os.WriteFile(filepath.Join(dir, "fail-now"), nil, 0o644)
	cmd, _ = startOperate(t, dir, "w.gxl")
	// Two failures handled: the resumed run's, then the new operator's
	// own first run (fail-now fails it too).
	waitUntil(t, "the on_failure flows of the resumed run and of the new one", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "handled.txt"))
		return strings.Count(string(b), "main.step") == 2
	})
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd, 10*time.Second); code != 0 {
		t.Fatalf("after SIGTERM: exit %d", code)
	}
}
