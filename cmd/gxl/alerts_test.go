package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestExampleHealthAlerts runs the example system's health_check (sys/,
// copied) with its Slack and PagerDuty settings pointed at a real receiver
// on loopback. No module is fetched, so the stage fails: the first
// failure opens the incident and alerts (exit 1 all the same), the second
// does not alert again; a passing check (_health_ok, the flow that runs
// after a stage that passed) resolves it once, with the trigger's dedup
// key. The webhook path and the routing key appear in no output.
func TestExampleHealthAlerts(t *testing.T) {
	var (
		mu    sync.Mutex
		slack []string
		pd    []map[string]any
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("%s: %q is not JSON", r.URL.Path, b)
		}
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/services/T0/B0/hooksecret":
			slack = append(slack, m["text"].(string))
		case "/v2/enqueue":
			pd = append(pd, m)
		default:
			t.Errorf("request to %s", r.URL.Path)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	root := t.TempDir()
	copyTree(t, filepath.Join("..", "..", "sys"), filepath.Join(root, "sys"))
	if err := os.WriteFile(filepath.Join(root, "connections.yml"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const key = "R0UT1NGKEYsecret"
	env := []string{
		"GXL_CONNECTIONS=" + filepath.Join(root, "connections.yml"),
		"GXL_MODULE_CACHE=" + filepath.Join(root, "cache"),
		"GXL_MIRRORS=",
		"SLACK_WEBHOOK_URL=" + srv.URL + "/services/T0/B0/hooksecret",
		"PAGERDUTY_SERVICE_KEY=" + key,
		"PAGERDUTY_EVENTS_URL=" + srv.URL + "/v2/enqueue",
	}
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(slack), len(pd)
	}
	run := func(flow string, code int) string {
		t.Helper()
		r := gxlEnv(t, root, env, "run", "sys/workflows/operators.gxl", flow)
		if r.code != code {
			t.Fatalf("%s: exit %d, want %d\n%s\n%s", flow, r.code, code, r.stdout, r.stderr)
		}
		if out := r.stdout + r.stderr; strings.Contains(out, "hooksecret") || strings.Contains(out, key) {
			t.Errorf("%s: a secret in the output:\n%s", flow, out)
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
	mu.Lock()
	defer mu.Unlock()
	if len(slack) != 2 || len(pd) != 2 {
		t.Fatalf("after the recovery: %d Slack messages, %d PagerDuty events, want 2 and 2: %q %v", len(slack), len(pd), slack, pd)
	}
	if !strings.HasPrefix(slack[0], "[microservice_platform production] critical: health check of microservice_platform failed") ||
		!strings.HasPrefix(slack[1], "[microservice_platform production] info: health check of microservice_platform passes again") {
		t.Errorf("Slack texts %q", slack)
	}
	trig, res := pd[0], pd[1]
	dedup, _ := trig["dedup_key"].(string)
	if trig["event_action"] != "trigger" || res["event_action"] != "resolve" || trig["routing_key"] != key ||
		!strings.HasPrefix(dedup, "health_check-") || res["dedup_key"] != dedup {
		t.Errorf("PagerDuty events: trigger %v, resolve %v (want one dedup key)", trig, res)
	}
	if p, _ := trig["payload"].(map[string]any); p["severity"] != "critical" || p["source"] != "microservice_platform" {
		t.Errorf("trigger payload %v", trig["payload"])
	}
}
