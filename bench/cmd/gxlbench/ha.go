package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gxl-dev/gxl/internal/devstack"
)

// The durations of the HA row: short ones, as in the tests.
const (
	haLease = 3 * time.Second
	haRuns  = 3
)

const haBenchFlow = `mod main {
    #[every("200ms")]
    flow work { gx.cmd("echo \"$REPLICA\" >> acts.txt"); }
}
`

// Row 9: gxl operate --ha, three replicas on a real kube-apiserver: from
// the kill -9 of the leader until another replica's first effect, beside
// the lease duration (the followers wait for it to expire).
func leaderKill(b *bench) ([]Row, error) {
	ctx := context.Background()
	kube, err := devstack.StartKube(ctx, "", devstack.KubeOptions{APIOnly: true})
	if err != nil {
		return nil, err
	}
	defer kube.Cleanup()
	dir := filepath.Join(b.work, "ha")
	os.MkdirAll(filepath.Join(dir, "_gal"), 0o755)
	os.WriteFile(filepath.Join(dir, "_gal", "project.toml"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "w.gxl"), []byte(haBenchFlow), 0o644)
	acts := filepath.Join(dir, "acts.txt")
	lines := func() []string {
		data, _ := os.ReadFile(acts)
		return strings.Fields(string(data))
	}
	s := series{name: fmt.Sprintf("leader kill → new leader acting (3 replicas, lease %s)", haLease)}
	for i := 0; i < max(haRuns, b.runs); i++ {
		os.Remove(acts)
		var procs []*exec.Cmd
		stop := func() {
			for _, p := range procs {
				syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
				p.Wait()
			}
		}
		for r := 1; r <= 3; r++ {
			c := exec.Command(b.gxl, "operate", "w.gxl", "--listen", "127.0.0.1:0", "--ha", "--lease", fmt.Sprintf("default/gxl-bench-%d", i),
				"--identity", fmt.Sprintf("r%d", r), "--lease-duration", haLease.String(), "--renew-deadline", "2s", "--retry-period", "500ms")
			c.Dir = dir
			c.Env = append(os.Environ(), "KUBECONFIG="+kube.Kubeconfig, fmt.Sprintf("REPLICA=r%d", r))
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := c.Start(); err != nil {
				stop()
				return nil, err
			}
			procs = append(procs, c)
		}
		// The leader: the replica that acted three times.
		leader := ""
		for deadline := time.Now().Add(30 * time.Second); leader == ""; time.Sleep(20 * time.Millisecond) {
			if ls := lines(); len(ls) >= 3 {
				leader = ls[len(ls)-1]
			}
			if time.Now().After(deadline) {
				stop()
				return nil, fmt.Errorf("no replica acted within 30 s")
			}
		}
		var n int
		fmt.Sscanf(leader, "r%d", &n)
		syscall.Kill(-procs[n-1].Process.Pid, syscall.SIGKILL)
		killed := time.Now()
		seen := len(lines())
		acted := false
		for deadline := killed.Add(haLease + 30*time.Second); !acted && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			ls := lines()
			for _, l := range ls[min(seen, len(ls)):] {
				acted = acted || l != leader
			}
		}
		took := time.Since(killed)
		stop()
		if !acted {
			return nil, fmt.Errorf("no replica acted within %s of the leader's kill", haLease+30*time.Second)
		}
		s.samples = append(s.samples, took)
	}
	b.samples = append(b.samples, s)
	limit := haLease + 5*time.Second
	return []Row{{
		ID:     "9",
		What:   fmt.Sprintf("`gxl operate --ha`, 3 replicas: leader kill -9 → new leader acting (lease %s, renew 2s, retry 0.5s; real kube-apiserver)", haLease),
		GXL:    ms(s.median()),
		Peer:   ms(haLease) + " (lease)",
		Ratio:  fmt.Sprintf("%.2f×", float64(s.median())/float64(haLease)),
		Target: "≤ lease + 5 s",
		Met:    yesNo(s.median() <= limit),
		RSS:    "—",
	}}, nil
}
