package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/internal/gxltest"
)

// TestExampleHealthAlerts runs the example system's health_check (sys/,
// copied) with its Slack and PagerDuty settings pointed at a real receiver
// on loopback. No module is fetched, so the stage fails: the first
// failure opens the incident and alerts (exit 1 all the same), the second
// does not alert again; a passing check (_health_ok, the flow that runs
// after a stage that passed) resolves it once, with the trigger's dedup
// key. The webhook path and the routing key appear in no output.
// alertReceiver is the receiver of gxltest standing in for Slack (path
// hookPath) and PagerDuty (/v2/enqueue). env points the example system's
// alert settings at it.
type alertReceiver struct{ *gxltest.Alerts }

const (
	hookPath   = "/services/T0/B0/hooksecret"
	routingKey = "R0UT1NGKEYsecret"
)

func newAlertReceiver(t *testing.T) *alertReceiver {
	return &alertReceiver{gxltest.NewAlerts(t, hookPath)}
}

func (a *alertReceiver) env() []string {
	return []string{
		"SLACK_WEBHOOK_URL=" + a.URL + hookPath,
		"PAGERDUTY_SERVICE_KEY=" + routingKey,
		"PAGERDUTY_EVENTS_URL=" + a.URL + "/v2/enqueue",
	}
}

// leaks reports output that holds the webhook path or the routing key.
func leaks(out string) bool {
	return strings.Contains(out, "hooksecret") || strings.Contains(out, routingKey)
}

// TestExampleHealthAlerts runs the example system's health_check (sys/,
// copied) with its Slack and PagerDuty settings pointed at a real receiver
// on loopback. No module is fetched, so the stage fails: the first
// failure opens the incident and alerts (exit 1 all the same), the second
// does not alert again; a passing check (_health_ok, the flow that runs
// after a stage that passed) resolves it once, with the trigger's dedup
// key. The webhook path and the routing key appear in no output.
func TestExampleHealthAlerts(t *testing.T) {
	rcv := newAlertReceiver(t)
	root := t.TempDir()
	copyTree(t, filepath.Join("..", "..", "sys"), filepath.Join(root, "sys"))
	if err := os.WriteFile(filepath.Join(root, "connections.yml"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append([]string{
		"GXL_CONNECTIONS=" + filepath.Join(root, "connections.yml"),
		"GXL_MODULE_CACHE=" + filepath.Join(root, "cache"),
		"GXL_MIRRORS=",
	}, rcv.env()...)
	counts := func() (int, int) {
		s, p := rcv.Got()
		return len(s), len(p)
	}
	run := func(flow string, code int) string {
		t.Helper()
		r := gxlEnv(t, root, env, "run", "sys/workflows/operators.gxl", flow)
		if r.code != code {
			t.Fatalf("%s: exit %d, want %d\n%s\n%s", flow, r.code, code, r.stdout, r.stderr)
		}
		if leaks(r.stdout + r.stderr) {
			t.Errorf("%s: a secret in the output:\n%s%s", flow, r.stdout, r.stderr)
		}
		return r.stderr
	}

	stderr := run("health_check", 1)
	if s, p := counts(); s != 1 || p != 1 {
		t.Fatalf("first failure: %d Slack messages, %d PagerDuty events, want 1 and 1\n%s", s, p, stderr)
	}
	run("health_check", 1)
	if s, p := counts(); s != 1 || p != 1 {
		t.Fatalf("second failure alerted again: %d Slack messages, %d PagerDuty events", s, p)
	}
	run("_health_ok", 0)
	run("_health_ok", 0)
	slack, pd := rcv.Got()
	if len(slack) != 2 || len(pd) != 2 {
		t.Fatalf("after the recovery: %d Slack messages, %d PagerDuty events, want 2 and 2: %q %v", len(slack), len(pd), slack, pd)
	}
	if !strings.HasPrefix(slack[0], "[microservice_platform production] critical: health check of microservice_platform failed") ||
		!strings.HasPrefix(slack[1], "[microservice_platform production] info: health check of microservice_platform passes again") {
		t.Errorf("Slack texts %q", slack)
	}
	trig, res := pd[0], pd[1]
	dedup, _ := trig["dedup_key"].(string)
	if trig["event_action"] != "trigger" || res["event_action"] != "resolve" || trig["routing_key"] != routingKey ||
		!strings.HasPrefix(dedup, "health_check-") || res["dedup_key"] != dedup {
		t.Errorf("PagerDuty events: trigger %v, resolve %v (want one dedup key)", trig, res)
	}
	if p, _ := trig["payload"].(map[string]any); p["severity"] != "critical" || p["source"] != "microservice_platform" {
		t.Errorf("trigger payload %v", trig["payload"])
	}
	// What the runs stored (journals, the incident file) holds no secret.
	files := 0
	filepath.WalkDir(filepath.Join(root, ".gxl"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		if b, _ := os.ReadFile(p); leaks(string(b)) {
			t.Errorf("%s holds a secret:\n%s", p, b)
		}
		return nil
	})
	if files < 4 {
		t.Errorf("%d files under .gxl, want the journals of 4 runs at least", files)
	}
}

// TestExampleBackupAlerts: the example system's backup stage, with no
// module fetched, fails: the first failure opens the incident backup and
// alerts once (exit 1 all the same), the second does not alert again,
// and a backup that passes (_backup_ok, the flow that runs after a stage
// that passed) resolves it once with the trigger's dedup key.
// TestSystemPipelineAndFailover does the same with a real backup that
// fails (BACKUP_ROOT not writable) and one that succeeds.
func TestExampleBackupAlerts(t *testing.T) {
	rcv := newAlertReceiver(t)
	root := t.TempDir()
	copyTree(t, filepath.Join("..", "..", "sys"), filepath.Join(root, "sys"))
	if err := os.WriteFile(filepath.Join(root, "connections.yml"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append([]string{
		"GXL_CONNECTIONS=" + filepath.Join(root, "connections.yml"),
		"GXL_MODULE_CACHE=" + filepath.Join(root, "cache"),
		"GXL_MIRRORS=",
		"BACKUP_ROOT=" + filepath.Join(root, "backups"),
	}, rcv.env()...)
	run := func(flow string, code int) {
		t.Helper()
		r := gxlEnv(t, root, env, "run", "sys/workflows/operators.gxl", flow)
		if r.code != code {
			t.Fatalf("%s: exit %d, want %d\n%s\n%s", flow, r.code, code, r.stdout, r.stderr)
		}
		if leaks(r.stdout + r.stderr) {
			t.Errorf("%s: a secret in the output:\n%s%s", flow, r.stdout, r.stderr)
		}
	}
	run("backup", 1)
	run("backup", 1)
	if s, p := rcv.Got(); len(s) != 1 || len(p) != 1 {
		t.Fatalf("two failed backups: %d Slack messages, %d PagerDuty events, want 1 and 1: %q", len(s), len(p), s)
	}
	run("_backup_ok", 0)
	run("_backup_ok", 0)
	slack, pd := rcv.Got()
	if len(slack) != 2 || len(pd) != 2 {
		t.Fatalf("after a good backup: %d Slack messages, %d PagerDuty events, want 2 and 2: %q %v", len(slack), len(pd), slack, pd)
	}
	checkBackupAlerts(t, slack, pd)
}

// checkBackupAlerts: one critical trigger of the backup incident, then
// its resolve with the same dedup key.
func checkBackupAlerts(t *testing.T, slack []string, pd []map[string]any) {
	t.Helper()
	var trig, res []map[string]any
	for _, ev := range pd {
		if k, _ := ev["dedup_key"].(string); strings.HasPrefix(k, "backup-") {
			if ev["event_action"] == "trigger" {
				trig = append(trig, ev)
			} else {
				res = append(res, ev)
			}
		}
	}
	if len(trig) != 1 || len(res) != 1 || res[0]["event_action"] != "resolve" || trig[0]["dedup_key"] != res[0]["dedup_key"] {
		t.Fatalf("PagerDuty events of the backup incident: triggers %v, resolves %v (want one of each, one dedup key)", trig, res)
	}
	if p, _ := trig[0]["payload"].(map[string]any); p["severity"] != "critical" {
		t.Errorf("trigger payload %v", trig[0]["payload"])
	}
	var failed, again int
	for _, s := range slack {
		if strings.HasPrefix(s, "[microservice_platform production] critical: backup of microservice_platform into ") {
			failed++
		}
		if strings.HasPrefix(s, "[microservice_platform production] info: backup of microservice_platform succeeds again") {
			again++
		}
	}
	if failed != 1 || again != 1 {
		t.Errorf("Slack: %d failure and %d recovery messages, want 1 and 1: %q", failed, again, slack)
	}
}

// checkFailoverAlerts: each failed-over module sent a critical trigger
// when its failover started and a resolve of the same key when it was
// done, in that order, on Slack and PagerDuty.
func checkFailoverAlerts(t *testing.T, rcv *alertReceiver, modules ...string) {
	t.Helper()
	slack, pd := rcv.Got()
	for _, m := range modules {
		key := "microservice_platform/failover/" + m
		var actions []string
		for _, ev := range pd {
			if ev["dedup_key"] == key {
				actions = append(actions, ev["event_action"].(string))
			}
		}
		if strings.Join(actions, ",") != "trigger,resolve" {
			t.Errorf("PagerDuty events of %s: %v, want trigger then resolve", key, actions)
		}
		started, done := -1, -1
		for i, s := range slack {
			if strings.Contains(s, "critical: failover of "+m+" started") {
				started = i
			}
			if strings.Contains(s, "info: failover of "+m+" done") {
				done = i
			}
		}
		if started < 0 || done < started {
			t.Errorf("Slack messages of %s's failover (start %d, done %d): %q", m, started, done, slack)
		}
	}
}
