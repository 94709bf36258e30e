package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/internal/devstack"
)

// The durations of the HA tests: short, so that a takeover takes seconds.
var haTestFlags = []string{"--lease-duration", "3s", "--renew-deadline", "2s", "--retry-period", "500ms"}

const haLeaseDuration = 3 * time.Second

// haReplica is one `gxl operate --ha` process.
type haReplica struct {
	id   string
	cmd  *exec.Cmd
	addr string
}

// haStatus is what a replica's /status says; ok is false when it does
// not answer (killed, stopped).
func (r *haReplica) status() (engine.Status, bool) {
	c := http.Client{Timeout: 500 * time.Millisecond}
	resp, err := c.Get("http://" + r.addr + "/status")
	if err != nil {
		return engine.Status{}, false
	}
	defer resp.Body.Close()
	var s engine.Status
	if json.NewDecoder(resp.Body).Decode(&s) != nil {
		return engine.Status{}, false
	}
	return s, true
}

// startHAReplicas starts n replicas operating file in dir on the lease
// default/<lease>, each with REPLICA=<its id> in its environment (the
// flows write it beside each effect).
func startHAReplicas(t *testing.T, dir string, env []string, n int, lease string, args ...string) []*haReplica {
	t.Helper()
	var out []*haReplica
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("r%d", i)
		a := append([]string{"--ha", "--lease", "default/" + lease, "--identity", id}, haTestFlags...)
		cmd, addr := startOperateEnv(t, dir, append(env, "REPLICA="+id), append(a, args...)...)
		out = append(out, &haReplica{id: id, cmd: cmd, addr: addr})
	}
	return out
}

// haLeader waits until exactly one of the replicas that answer says it
// leads and every one of them names it, and returns it. It fails when
// two replicas say they lead at once.
func haLeader(t *testing.T, rs []*haReplica, within time.Duration) *haReplica {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var leaders []*haReplica
		named := map[string]int{}
		answered := 0
		for _, r := range rs {
			s, ok := r.status()
			if !ok {
				continue
			}
			answered++
			if s.Leader == nil {
				t.Fatalf("%s: /status has no leader under --ha", r.id)
			}
			if s.Leader.Self {
				leaders = append(leaders, r)
				if s.Leader.Identity != r.id {
					t.Fatalf("%s leads but names %q", r.id, s.Leader.Identity)
				}
			}
			named[s.Leader.Identity]++
		}
		if len(leaders) > 1 {
			t.Fatalf("two leaders at once: %s and %s", leaders[0].id, leaders[1].id)
		}
		if len(leaders) == 1 && named[leaders[0].id] == answered {
			return leaders[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single leader named by all within %s (%d answered, named %v)", within, answered, named)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// effectLines reads effects.txt: "<replica> <run> <step>" lines.
func effectLines(t *testing.T, dir string) [][]string {
	b, _ := os.ReadFile(filepath.Join(dir, "effects.txt"))
	var out [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(l); len(f) == 3 {
			out = append(out, f)
		}
	}
	return out
}

// waitMidRun waits until the last effect is step a of a run of replica
// r (the run then sleeps before step b) and returns that run's id.
func waitMidRun(t *testing.T, dir string, r *haReplica) string {
	t.Helper()
	var run string
	waitLong(t, 20*time.Second, r.id+" in the middle of a run", func() bool {
		ls := effectLines(t, dir)
		if len(ls) == 0 {
			return false
		}
		last := ls[len(ls)-1]
		if last[0] != r.id || last[2] != "a" {
			return false
		}
		time.Sleep(100 * time.Millisecond)
		ls = effectLines(t, dir)
		if now := ls[len(ls)-1]; now[1] == last[1] && now[2] == "a" {
			run = last[1]
			return true
		}
		return false
	})
	return run
}

// checkOnce fails when a step of a run had its effect twice.
func checkOnce(t *testing.T, dir string) map[string][]string {
	t.Helper()
	steps := map[string][]string{}
	seen := map[string]string{}
	for _, l := range effectLines(t, dir) {
		k := l[1] + " " + l[2]
		if by, ok := seen[k]; ok {
			t.Errorf("step %s of run %s had its effect twice (by %s, then %s)", l[2], l[1], by, l[0])
		}
		seen[k] = l[0]
		steps[l[1]] = append(steps[l[1]], l[2])
	}
	return steps
}

const haWorkflow = `
mod main {
    #[every("300ms")]
    flow work {
        gx.cmd("echo \"$REPLICA ${GXL_RUN_ID} a\" >> effects.txt");
        gx.cmd("sleep 0.6");
        gx.cmd("echo \"$REPLICA ${GXL_RUN_ID} b\" >> effects.txt");
        gx.cmd("sleep 0.6");
        gx.cmd("echo \"$REPLICA ${GXL_RUN_ID} c\" >> effects.txt");
    }
}
`

// TestOperateHA runs three `gxl operate --ha` replicas against a real
// kube-apiserver, on one Lease:
//
//   - exactly one leads, and /status names it on every replica;
//   - the leader SIGKILLed in the middle of a run: another leads within
//     the lease duration + 5 s and resumes the killed run from its
//     journal (its next step, not its first);
//   - fencing: the new leader SIGSTOPped in the middle of a run past its
//     lease, the third replica takes over, and the stopped one, continued,
//     never acts again: its run stops before its next effect, and it
//     follows;
//   - through all of it, no step's effect happens twice.
func TestOperateHA(t *testing.T) {
	ctx := context.Background()
	kube, err := devstack.StartKube(ctx, "", devstack.KubeOptions{APIOnly: true})
	if err != nil {
		t.Fatalf("Kubernetes: %v", err)
	}
	t.Cleanup(kube.Cleanup)
	dir := project(t, map[string]string{"_gal/project.toml": "", "w.gxl": haWorkflow})
	env := []string{"KUBECONFIG=" + kube.Kubeconfig}
	rs := startHAReplicas(t, dir, env, 3, "gxl-ha-test", "w.gxl")

	// (a) one leader, named by all; followers are healthy.
	l1 := haLeader(t, rs, 20*time.Second)
	for _, r := range rs {
		if code, _ := httpGet(t, "http://"+r.addr+"/healthz"); code != 200 {
			t.Errorf("%s: /healthz %d", r.id, code)
		}
	}

	// (b) kill -9 the leader in the middle of a run.
	killed := waitMidRun(t, dir, l1)
	syscall.Kill(l1.cmd.Process.Pid, syscall.SIGKILL)
	at := time.Now()
	rest := without(rs, l1)
	l2 := haLeader(t, rest, haLeaseDuration+5*time.Second)
	t.Logf("leader %s killed; %s leads after %s", l1.id, l2.id, time.Since(at).Round(10*time.Millisecond))
	waitLong(t, 20*time.Second, "the killed run resumed and finished", func() bool {
		return strings.Join(checkOnce(t, dir)[killed], ",") == "a,b,c"
	})
	for _, l := range effectLines(t, dir) {
		if l[1] == killed && l[2] != "a" && l[0] != l2.id {
			t.Errorf("step %s of the killed run was done by %s, not by the new leader %s", l[2], l[0], l2.id)
		}
	}

	// (c) fencing: stop the leader past its lease in the middle of a run.
	stopped := waitMidRun(t, dir, l2)
	syscall.Kill(l2.cmd.Process.Pid, syscall.SIGSTOP)
	l3 := haLeader(t, without(rest, l2), haLeaseDuration+5*time.Second)
	waitLong(t, 20*time.Second, "the third replica acting", func() bool {
		for _, l := range effectLines(t, dir) {
			if l[0] == l3.id && l[2] == "c" {
				return true
			}
		}
		return false
	})
	syscall.Kill(l2.cmd.Process.Pid, syscall.SIGCONT)
	cont := len(effectLines(t, dir))
	waitLong(t, 20*time.Second, "the continued replica following", func() bool {
		s, ok := l2.status()
		return ok && s.Leader != nil && !s.Leader.Self && s.Leader.Identity == l3.id
	})
	time.Sleep(2 * haLeaseDuration)
	for _, l := range effectLines(t, dir)[cont:] {
		if l[0] == l2.id {
			t.Errorf("the fenced replica %s acted after it was continued: %v", l2.id, l)
		}
	}
	// Its journal is in the API server: once its lock went stale the new
	// leader resumed it, and only the new leader did its remaining steps.
	waitLong(t, 20*time.Second, "the stopped run resumed by the new leader", func() bool {
		return strings.Join(checkOnce(t, dir)[stopped], ",") == "a,b,c"
	})
	for _, l := range effectLines(t, dir) {
		if l[1] == stopped && l[2] != "a" && l[0] == l2.id {
			t.Errorf("step %s of the stopped run was done by the replica that lost the lease, %s", l[2], l2.id)
		}
	}
	s, _ := l2.status()
	fenced := false
	for _, ev := range s.Events {
		fenced = fenced || (ev.Kind == "fenced" && ev.Run == stopped)
	}
	if !fenced {
		t.Errorf("%s does not report its run %s as fenced: %+v", l2.id, stopped, s.Events)
	}
	if l := haLeader(t, rest, 5*time.Second); l != l3 {
		t.Errorf("%s leads after the fenced %s was continued, not %s", l.id, l2.id, l3.id)
	}
}

func without(rs []*haReplica, x *haReplica) []*haReplica {
	var out []*haReplica
	for _, r := range rs {
		if r != x {
			out = append(out, r)
		}
	}
	return out
}

// TestOperateHAAPIServerRestart restarts the kube-apiserver under two
// `gxl operate --ha` replicas, down longer than the renew deadline: the
// leader cannot renew and stops acting, and at no time do two replicas
// lead — sampled on /status all along, and in the effects: no step
// twice. Once the server is back, one replica leads again.
func TestOperateHAAPIServerRestart(t *testing.T) {
	ctx := context.Background()
	kube, err := devstack.StartKube(ctx, "", devstack.KubeOptions{APIOnly: true})
	if err != nil {
		t.Fatalf("Kubernetes: %v", err)
	}
	t.Cleanup(kube.Cleanup)
	dir := project(t, map[string]string{"_gal/project.toml": "", "w.gxl": haWorkflow})
	rs := startHAReplicas(t, dir, []string{"KUBECONFIG=" + kube.Kubeconfig}, 2, "gxl-ha-restart", "w.gxl")
	haLeader(t, rs, 20*time.Second)
	restarted := make(chan error, 1)
	go func() { restarted <- kube.RestartAPIServer(ctx, 2*haLeaseDuration) }()
	var leaders []string // who led at each sample
	for done := false; !done; {
		select {
		case err := <-restarted:
			if err != nil {
				t.Fatalf("restart: %v", err)
			}
			done = true
		case <-time.After(50 * time.Millisecond):
		}
		var now []string
		for _, r := range rs {
			if s, ok := r.status(); ok && s.Leader != nil && s.Leader.Self {
				now = append(now, r.id)
			}
		}
		if len(now) > 1 {
			t.Fatalf("two leaders while the API server restarts: %v", now)
		}
		leaders = append(leaders, strings.Join(now, ""))
	}
	if !strings.Contains(strings.Join(leaders, ","), ",,") {
		t.Errorf("the leader kept acting while the API server was down for %s: %v", 2*haLeaseDuration, leaders)
	}
	haLeader(t, rs, haLeaseDuration+10*time.Second)
	checkOnce(t, dir)
}
