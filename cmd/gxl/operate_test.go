package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/engine"
)

// startOperate starts `gxl operate` as a process in dir on a free port and
// returns it with the address of its endpoints.
func startOperate(t *testing.T, dir string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	return startOperateEnv(t, dir, nil, args...)
}

// startOperateEnv is startOperate with env added to the environment.
func startOperateEnv(t *testing.T, dir string, env []string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	errPath := filepath.Join(t.TempDir(), "stderr")
	ef, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	cmd := exec.Command(gxlBin, append([]string{"operate", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1", "TZ="), env...)
	cmd.Stdout, cmd.Stderr = io.Discard, ef
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			b, _ := os.ReadFile(errPath)
			t.Logf("gxl operate stderr:\n%s", b)
		}
	})
	re := regexp.MustCompile(`serving http://([0-9.:]+)/healthz`)
	waitUntil(t, "the endpoints", func() bool {
		b, _ := os.ReadFile(errPath)
		return re.Match(b)
	})
	b, _ := os.ReadFile(errPath)
	return cmd, re.FindStringSubmatch(string(b))[1]
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func exitCode(t *testing.T, cmd *exec.Cmd, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("gxl operate did not exit within %s", within)
	}
	return -1
}

// TestOperateServesAndStops runs `gxl operate` on a workflow with
// #[every("200ms")] flows: the flows run, a failure runs its #[on_failure]
// flow and never stops the loop, /healthz /status /metrics and the status
// page answer over HTTP, and SIGTERM ends the operator with exit 0.
func TestOperateServesAndStops(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "w.gxl": `
mod main {
    #[every("200ms")]
    flow tick {
        gx.cmd("echo tick >> ticks.txt");
        operate.mark("db", healthy: true);
    }
    #[every("200ms"), on_failure(alert)]
    flow flaky {
        gx.cmd("exit 3");
    }
    flow alert {
        gx.cmd("echo \"${FAILED_MODULE}|${FAILED_FLOW}|${FAILED_AT}|${FAILED_ERROR}\" >> alerts.txt");
        operate.mark("db", failover: true);
    }
}
`})
	cmd, addr := startOperate(t, dir, "w.gxl")
	base := "http://" + addr
	if code, body := httpGet(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	waitUntil(t, "three ticks and two alerts", func() bool {
		ticks, _ := os.ReadFile(filepath.Join(dir, "ticks.txt"))
		alerts, _ := os.ReadFile(filepath.Join(dir, "alerts.txt"))
		return strings.Count(string(ticks), "tick") >= 3 && strings.Count(string(alerts), "\n") >= 2
	})
	alerts, _ := os.ReadFile(filepath.Join(dir, "alerts.txt"))
	if first, _, _ := strings.Cut(string(alerts), "\n"); first != "main|main.flaky|w.gxl:10:9|gx.cmd: command failed with exit status 3: exit 3" {
		t.Errorf("the on_failure flow saw %q", first)
	}

	_, body := httpGet(t, base+"/status")
	var st engine.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/status is not JSON: %v\n%s", err, body)
	}
	byFlow := map[string]int{}
	for i, f := range st.Flows {
		byFlow[f.Flow] = i
	}
	tick := st.Flows[byFlow["main.tick"]]
	if st.State != "running" || tick.Trigger != "every 200ms" || tick.Next == nil || tick.Last == nil || tick.Last.Result != "succeeded" || tick.Last.Run == "" {
		t.Errorf("/status of main.tick: %s", body)
	}
	flaky := st.Flows[byFlow["main.flaky"]]
	if flaky.Last == nil || flaky.Last.Result != "failed" || flaky.Last.At != "w.gxl:10:9" || flaky.OnFailure != "main.alert" {
		t.Errorf("/status of main.flaky: %s", body)
	}
	if m := st.Modules["db"]; m.Healthy == nil || !*m.Healthy || m.Failovers < 1 {
		t.Errorf("/status modules: %s", body)
	}
	if len(st.Events) == 0 {
		t.Errorf("/status has no events")
	}

	// the status page (engine: TestStatusPage, TestStatusPageInBrowser)
	if code, page := httpGet(t, base+"/"); code != 200 || !regexp.MustCompile(`<td class="(failed|running)" data-flow="main.flaky"`).MatchString(page) || !strings.Contains(page, "single operator, no election") {
		t.Errorf("GET /: %d\n%s", code, page)
	}

	_, metrics := httpGet(t, base+"/metrics")
	for _, re := range []string{
		`gxl_flow_runs_total\{flow="main.tick",result="succeeded"\} [1-9]`,
		`gxl_flow_runs_total\{flow="main.flaky",result="failed"\} [1-9]`,
		`gxl_flow_duration_seconds_count\{flow="main.tick"\} [1-9]`,
		`gxl_last_success_timestamp_seconds\{flow="main.tick"\} 1\.[0-9e+.]+`,
		`gxl_module_healthy\{module="db"\} 1`,
		`gxl_failovers_total\{module="db"\} [1-9]`,
		`process_resident_memory_bytes [0-9]`,
	} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics lacks %s", re)
		}
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd, 10*time.Second); code != 0 {
		t.Fatalf("after SIGTERM: exit %d", code)
	}
}

// TestOperateResumesTheKilledRun kills `gxl operate` (SIGKILL) in the
// middle of a triggered flow; started again, the operator first resumes
// that run from its journal — the append that finished is not done again —
// and only then schedules.
func TestOperateResumesTheKilledRun(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "w.gxl": `
mod main {
    #[every("200ms")]
    flow step {
        gx.cmd("echo a >> log.txt");
        gx.cmd("touch started; if [ ! -f resume-ok ]; then sleep 60; fi");
        gx.cmd("echo b >> log.txt");
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
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); string(b) != "a\n" {
		t.Fatalf("before the restart: %q", b)
	}
	killed := gxl(t, dir, "runs", "list", "--format", "json")
	if !strings.Contains(killed.stdout, `"status": "interrupted"`) {
		t.Fatalf("the killed run is not interrupted:\n%s", killed.stdout)
	}

	os.WriteFile(filepath.Join(dir, "resume-ok"), nil, 0o644)
	cmd, addr := startOperate(t, dir, "w.gxl")
	waitUntil(t, "the resumed run and two more", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "log.txt"))
		return strings.Count(string(b), "b\n") >= 3
	})
	b, _ := os.ReadFile(filepath.Join(dir, "log.txt"))
	if !strings.HasPrefix(string(b), "a\nb\na\nb\n") {
		t.Fatalf("the resumed run appended again, or ran after a new one:\n%s", b)
	}
	_, body := httpGet(t, "http://"+addr+"/status")
	var st engine.Status
	json.Unmarshal([]byte(body), &st)
	if len(st.Events) < 2 || st.Events[0].Kind != "resumed" || st.Events[1].Kind != "started" || st.Events[1].Run != st.Events[0].Run {
		t.Fatalf("the first events are not the resume of the killed run: %s", body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd, 10*time.Second); code != 0 {
		t.Fatalf("after SIGTERM: exit %d", code)
	}
	list := gxl(t, dir, "runs", "list", "--format", "json")
	if strings.Contains(list.stdout, `"status": "interrupted"`) {
		t.Fatalf("a run is still interrupted:\n%s", list.stdout)
	}
}

// TestOperateQuietRunsLeaveNoJournal: a triggered run that succeeded and
// only read (a probe that found everything as it should be) leaves no
// journal under .gxl/runs; a run that changed something, and a failed
// one, keep theirs. /status still has the quiet flow's last result.
func TestOperateQuietRunsLeaveNoJournal(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "s.yml": "A: \"1\"\n", "w.gxl": `
mod main {
    #[every("100ms")]
    flow probe {
        gx.read_file(file: "s.yml");
        gx.echo("A is ${A}");
    }
    #[every("100ms")]
    flow bad_probe {
        gx.read_file(file: "s.yml");
        gx.assert(value: "${A}", expect: "2");
    }
    #[every("1h")]
    flow change {
        gx.cmd("echo changed >> changes.txt");
    }
}
`})
	cmd, addr := startOperate(t, dir, "w.gxl")
	var st engine.Status
	waitUntil(t, "five probes", func() bool {
		_, body := httpGet(t, "http://"+addr+"/metrics")
		return regexp.MustCompile(`gxl_flow_runs_total\{flow="main.probe",result="succeeded"\} ([5-9]|\d\d)`).MatchString(body) &&
			regexp.MustCompile(`gxl_flow_runs_total\{flow="main.bad_probe",result="failed"\} ([3-9]|\d\d)`).MatchString(body)
	})
	_, body := httpGet(t, "http://"+addr+"/status")
	json.Unmarshal([]byte(body), &st)
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd, 10*time.Second); code != 0 {
		t.Fatalf("after SIGTERM: exit %d", code)
	}
	for _, f := range st.Flows {
		if f.Flow == "main.probe" && (f.Last == nil || f.Last.Result != "succeeded" || f.Last.Run != "") {
			t.Errorf("/status of the quiet probe: %+v", f.Last)
		}
	}
	list := gxl(t, dir, "runs", "list", "--format", "json")
	var runs []struct {
		Flows  []string `json:"flows"`
		Status string   `json:"status"`
	}
	if err := json.Unmarshal([]byte(list.stdout), &runs); err != nil {
		t.Fatalf("runs list: %v\n%s", err, list.stdout)
	}
	count := map[string]int{}
	for _, r := range runs {
		count[strings.Join(r.Flows, ",")+" "+r.Status]++
	}
	if count["main.probe succeeded"] != 0 || count["main.change succeeded"] != 1 || count["main.bad_probe failed"] < 3 || len(count) != 2 {
		t.Fatalf("journals left: %v\n%s", count, list.stdout)
	}
}
