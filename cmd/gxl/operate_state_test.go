package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/runtime"
)

// TestOperateClusterStateResumesElsewhere: `gxl operate --state cluster`
// keeps its runs' journals in the API server (a real kube-apiserver). It
// is killed (kill -9) while the second command of a run goes on; a second
// `gxl operate --state cluster`, in another folder without .gxl/runs,
// reads the journal from the API server once the dead one's lock expired
// and resumes the run: the finished first command is not run again (each
// command appends to a file).
func TestOperateClusterStateResumesElsewhere(t *testing.T) {
	kube, err := devstack.StartKube(context.Background(), "", devstack.KubeOptions{APIOnly: true})
	if err != nil {
		t.Fatalf("Kubernetes: %v", err)
	}
	t.Cleanup(kube.Cleanup)
	shared := t.TempDir()
	log := filepath.Join(shared, "log.txt")
	dir := project(t, map[string]string{"_gal/project.toml": "", "w.gxl": `
mod main {
    #[every("200ms")]
    flow step {
        gx.cmd("echo a >> ` + log + `");
        gx.cmd("touch ` + shared + `/started; if [ ! -f ` + shared + `/resume-ok ]; then sleep 60; fi");
        gx.cmd("echo b >> ` + log + `");
    }
}
`})
	file := filepath.Join(dir, "w.gxl")
	env := []string{"KUBECONFIG=" + kube.Kubeconfig}
	state := []string{"--state", "cluster", "--state-namespace", "default", "--state-lock-ttl", "2s"}
	cmd, _ := startOperateEnv(t, dir, env, append([]string{file}, state...)...)
	waitUntil(t, "the flow to start", func() bool {
		_, err := os.Stat(filepath.Join(shared, "started"))
		return err == nil
	})
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if b, _ := os.ReadFile(log); string(b) != "a\n" {
		t.Fatalf("before the restart: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, ".gxl", "runs")); err == nil {
		t.Fatal("gxl operate --state cluster wrote .gxl/runs")
	}

	elsewhere := t.TempDir()
	var runs []runtime.RunInfo
	waitUntil(t, "the killed run's lock to expire", func() bool {
		r := gxlEnv(t, elsewhere, env, append([]string{"runs", "list", "--format", "json"}, state...)...)
		if r.code != 0 {
			t.Fatalf("gxl runs list --state cluster: %d %s", r.code, r.stderr)
		}
		runs = nil
		json.Unmarshal([]byte(r.stdout), &runs)
		return len(runs) == 1 && runs[0].Status == runtime.RunInterrupted
	})
	if !strings.HasPrefix(runs[0].Path, "configmap/gxl-run-") {
		t.Fatalf("the run is kept at %q", runs[0].Path)
	}

	os.WriteFile(filepath.Join(shared, "resume-ok"), nil, 0o644)
	cmd, addr := startOperateEnv(t, elsewhere, env, append([]string{file}, state...)...)
	waitUntil(t, "the resumed run and two more", func() bool {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "b\n") >= 3
	})
	b, _ := os.ReadFile(log)
	if !strings.HasPrefix(string(b), "a\nb\na\nb\n") {
		t.Fatalf("the resumed run appended again, or ran after a new one:\n%s", b)
	}
	_, body := httpGet(t, "http://"+addr+"/status")
	var st engine.Status
	json.Unmarshal([]byte(body), &st)
	if len(st.Events) < 2 || st.Events[0].Kind != "resumed" || st.Events[0].Run != runs[0].ID {
		t.Fatalf("the first event is not the resume of the killed run: %s", body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd, 10*time.Second); code != 0 {
		t.Fatalf("after SIGTERM: exit %d", code)
	}
	for _, d := range []string{dir, elsewhere} {
		if _, err := os.Stat(filepath.Join(d, ".gxl", "runs")); err == nil {
			t.Errorf("%s has .gxl/runs", d)
		}
	}
	show := gxlEnv(t, elsewhere, env, append([]string{"runs", "show", runs[0].ID}, state...)...)
	if show.code != 0 || !strings.Contains(show.stdout, "succeeded") || !strings.Contains(show.stdout, "resumed") {
		t.Fatalf("gxl runs show --state cluster: %d\n%s%s", show.code, show.stdout, show.stderr)
	}
	prune := gxlEnv(t, elsewhere, env, append([]string{"runs", "prune", "--keep", "1"}, state...)...)
	if prune.code != 0 || !strings.Contains(prune.stdout, "removed") {
		t.Fatalf("gxl runs prune --state cluster: %d\n%s%s", prune.code, prune.stdout, prune.stderr)
	}
}
