//go:build linux

package pg

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProgramDiesWithGxl: a PostgreSQL program started by runProgram (in
// its own process group, so a kill of gxl's group would not reach it) is
// killed by the kernel when the gxl that started it is killed with
// SIGKILL — a pg_rewind cut short must not go on beside the one the next
// operator resumes. The "gxl" is this test binary run again as a helper.
func TestProgramDiesWithGxl(t *testing.T) {
	if os.Getenv("GXL_TEST_DEATHSIG_HELPER") != "" {
		runProgram(context.Background(), "sh", nil, nil, []string{"sh", "-c", "echo $$ > " + os.Getenv("GXL_TEST_DEATHSIG_HELPER") + "; exec sleep 60"})
		return
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	helper := exec.Command(os.Args[0], "-test.run=^TestProgramDiesWithGxl$")
	helper.Env = append(os.Environ(), "GXL_TEST_DEATHSIG_HELPER="+pidFile)
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(20 * time.Second); pid == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			helper.Process.Kill()
			t.Fatal("the helper did not start its program")
		}
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	helper.Process.Signal(syscall.SIGKILL)
	helper.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// Gone, or a zombie waiting for init: either way it no longer runs.
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the program (pid %d) still runs 10s after the gxl that started it was killed", pid)
		}
	}
}
