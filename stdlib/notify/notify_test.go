package notify_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/stdlib/notify"
)

// receiver is a real HTTP server on loopback that records the JSON bodies
// it is sent and answers the first failFirst requests with status
// failStatus.
type receiver struct {
	*httptest.Server
	mu         sync.Mutex
	bodies     []map[string]any
	calls      atomic.Int32
	failFirst  int32
	failStatus int
	failBody   string
	answer     string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{failStatus: http.StatusServiceUnavailable}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.calls.Add(1)
		b, _ := io.ReadAll(req.Body)
		if n <= r.failFirst {
			w.WriteHeader(r.failStatus)
			io.WriteString(w, r.failBody)
			return
		}
		var m map[string]any
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &m) != nil {
			t.Errorf("request %s %q %q: want a JSON POST", req.Method, req.Header.Get("Content-Type"), b)
		}
		r.mu.Lock()
		r.bodies = append(r.bodies, m)
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, r.answer)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.bodies...)
}

const hookPath = "/services/T0001/B0002/xoxsecrettoken"

// TestSlack posts to a real webhook receiver: the payload's fields, the
// retries (a receiver that fails the first tries), a failure after the
// last try (a warning, delivered=false, the flow goes on), a request the
// receiver refuses (not tried again), and no URL path in any log line.
func TestSlack(t *testing.T) {
	prog := `
mod envs { env default { } }
mod main {
    flow send {
        notify.slack(url: "${HOOK}", text: "failover of pg started (password ${DB_PASSWORD})", channel: "#ops", username: "gxl",
            blocks: [{type: "section", text: {type: "mrkdwn", text: "*pg* down, pw ${DB_PASSWORD}"}}], attempts: 3, delay: "1ms");
        gx.echo("after delivered=${NOTIFY.delivered} attempts=${NOTIFY.attempts} skipped=${NOTIFY.skipped} error=${NOTIFY.error}");
    }
}`
	for _, tc := range []struct {
		name            string
		failFirst       int32
		failStatus      int
		calls, received int
		want, warn      string
	}{
		{"first try", 0, 0, 1, 1, "after delivered=true attempts=1 skipped=false error=", ""},
		{"fails twice", 2, 503, 3, 1, "after delivered=true attempts=3", ""},
		{"fails every try", 5, 503, 3, 0, "after delivered=false attempts=3", "not delivered after 3 attempt(s): status 503"},
		{"refused", 5, 404, 1, 0, "after delivered=false attempts=1", "not delivered after 1 attempt(s): status 404: no_service ***"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t)
			rc.failFirst, rc.failStatus = tc.failFirst, tc.failStatus
			rc.failBody = "no_service " + hookPath // a server echoing the secret path
			vars := map[string]value.Value{"HOOK": value.Str(rc.URL + hookPath), "DB_PASSWORD": value.Str("hunter2").AsSecret()}
			out, log, err := gxltest.RunLog(t, prog, "send", builtin.Host{}, vars)
			if err != nil {
				t.Fatalf("the flow failed: %v\n%s\n%s", err, out, log)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output %q, want %q", out, tc.want)
			}
			if got := int(rc.calls.Load()); got != tc.calls {
				t.Errorf("%d requests, want %d", got, tc.calls)
			}
			bodies := rc.got()
			if len(bodies) != tc.received {
				t.Fatalf("received %d messages, want %d", len(bodies), tc.received)
			}
			if tc.received > 0 {
				m := bodies[0]
				blocks, _ := json.Marshal(m["blocks"])
				if m["text"] != "failover of pg started (password ***)" || m["channel"] != "#ops" || m["username"] != "gxl" ||
					string(blocks) != `[{"text":{"text":"*pg* down, pw ***","type":"mrkdwn"},"type":"section"}]` {
					t.Errorf("payload %v, blocks %s", m, blocks)
				}
			}
			if tc.warn != "" && !strings.Contains(log, "WARN\tnotify.slack message to "+rc.URL+"/***: "+tc.warn) {
				t.Errorf("log has no warning %q:\n%s", tc.warn, log)
			}
			if tc.warn == "" && (strings.Contains(log, "WARN") || !strings.Contains(log, "notify.slack message to "+rc.URL+"/***: delivered")) {
				t.Errorf("log: want one delivered line, no warning:\n%s", log)
			}
			if strings.Contains(log+out, "xoxsecrettoken") || strings.Contains(log+out, "hunter2") {
				t.Errorf("a secret reached the log or the output:\n%s\n%s", log, out)
			}
		})
	}
}

// TestPagerDuty triggers and resolves an incident on a real Events API
// receiver with one dedup key, and checks what an event must hold.
func TestPagerDuty(t *testing.T) {
	rc := newReceiver(t)
	rc.answer = `{"status":"success","message":"Event processed","dedup_key":"from-server"}`
	prog := `
mod envs { env default { } }
mod main {
    flow send {
        notify.pagerduty(url: "${PD_URL}", key: "${PD_KEY}", dedup_key: "platform/health_check", summary: "health check failed", severity: "critical", source: "microservice_platform", component: "postgres_primary", details: {stage: "health_check"}, delay: "1ms");
        gx.echo("trigger delivered=${NOTIFY.delivered} dedup=${NOTIFY.dedup_key}");
        notify.pagerduty(url: "${PD_URL}", key: "${PD_KEY}", action: "resolve", dedup_key: "platform/health_check", delay: "1ms");
        gx.echo("resolve delivered=${NOTIFY.delivered}");
        notify.pagerduty(url: "${PD_URL}", key: "${PD_KEY}", action: "resolve", delay: "1ms");
        gx.echo("no key delivered=${NOTIFY.delivered} attempts=${NOTIFY.attempts} error=${NOTIFY.error}");
        notify.pagerduty(url: "${PD_URL}", key: "", summary: "x");
        gx.echo("empty key skipped=${NOTIFY.skipped} delivered=${NOTIFY.delivered}");
    }
}`
	const key = "R0UT1NGKEY0123456789abcdef012345"
	vars := map[string]value.Value{"PD_URL": value.Str(rc.URL + "/v2/enqueue"), "PD_KEY": value.Str(key)}
	out, log, err := gxltest.RunLog(t, prog, "send", builtin.Host{}, vars)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, log)
	}
	for _, want := range []string{
		"trigger delivered=true dedup=from-server",
		"resolve delivered=true",
		"no key delivered=false attempts=1 error=resolve needs the dedup_key of the incident",
		"empty key skipped=true delivered=false",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q, want %q", out, want)
		}
	}
	bodies := rc.got()
	if len(bodies) != 2 {
		t.Fatalf("received %d events, want 2 (trigger, resolve): %v", len(bodies), bodies)
	}
	trig, _ := json.Marshal(bodies[0])
	wantTrig := `{"dedup_key":"platform/health_check","event_action":"trigger","payload":{"component":"postgres_primary","custom_details":{"stage":"health_check"},"severity":"critical","source":"microservice_platform","summary":"health check failed"},"routing_key":"` + key + `"}`
	if string(trig) != wantTrig {
		t.Errorf("trigger\n%s\nwant\n%s", trig, wantTrig)
	}
	res, _ := json.Marshal(bodies[1])
	if want := `{"dedup_key":"platform/health_check","event_action":"resolve","routing_key":"` + key + `"}`; string(res) != want {
		t.Errorf("resolve\n%s\nwant\n%s", res, want)
	}
	if strings.Contains(log+out, key) || strings.Contains(log, "/v2/enqueue") {
		t.Errorf("the key or the URL path reached the log:\n%s", log)
	}
	if !strings.Contains(log, "WARN\tnotify.pagerduty resolve to "+rc.URL+"/***: not delivered after 1 attempt(s)") {
		t.Errorf("no warning for the resolve without a dedup key:\n%s", log)
	}
}

// TestNoAnswer: a receiver that accepts the connection and never answers.
// Each try ends at its timeout, the delivery is a warning and the flow
// goes on to its next statement and succeeds.
func TestNoAnswer(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	prog := `
mod envs { env default { } }
mod main {
    flow send {
        notify.slack(url: "${HOOK}", text: "down", timeout: "200ms", attempts: 2, delay: "10ms");
        gx.echo("went on: delivered=${NOTIFY.delivered}");
    }
}`
	began := time.Now()
	out, log, err := gxltest.RunLog(t, prog, "send", builtin.Host{}, map[string]value.Value{"HOOK": value.Str(srv.URL + hookPath)})
	took := time.Since(began)
	if err != nil {
		t.Fatalf("the flow failed: %v\n%s", err, log)
	}
	if !strings.Contains(out, "went on: delivered=false") || calls.Load() != 2 {
		t.Errorf("output %q after %d requests, want the next statement to run after 2", out, calls.Load())
	}
	if !strings.Contains(log, "WARN\tnotify.slack message to "+srv.URL+"/***: not delivered after 2 attempt(s): no answer within 200ms (the flow goes on)") {
		t.Errorf("log:\n%s", log)
	}
	if took > 3*time.Second {
		t.Errorf("took %s: the per-try timeout was not applied", took)
	}
}

// TestEmptyEndpoints: no URL, key, server or recipient is a logged no-op
// (a system without alert endpoints runs as before).
func TestEmptyEndpoints(t *testing.T) {
	prog := `
mod envs { env default { } }
mod main {
    flow send {
        notify.slack(url: "", text: "x");
        gx.echo("slack skipped=${NOTIFY.skipped}");
        notify.pagerduty(key: "${NONE:}", summary: "x");
        gx.echo("pagerduty skipped=${NOTIFY.skipped}");
        notify.email(server: "", from: "gxl@example.com", to: "a@example.com", subject: "s", body: "b");
        gx.echo("email skipped=${NOTIFY.skipped}");
        notify.email(server: "127.0.0.1:1", from: "gxl@example.com", to: "", subject: "s", body: "b");
        gx.echo("email no recipient skipped=${NOTIFY.skipped} delivered=${NOTIFY.delivered}");
    }
}`
	out, log, err := gxltest.RunLog(t, prog, "send", builtin.Host{}, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	for _, want := range []string{"slack skipped=true", "pagerduty skipped=true", "email skipped=true", "email no recipient skipped=true delivered=false"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q, want %q", out, want)
		}
	}
	for _, want := range []string{"notify.slack: no webhook url: nothing sent", "notify.pagerduty: no routing key: nothing sent", "notify.email: no SMTP server: nothing sent", "notify.email: no recipient: nothing sent"} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "WARN") {
		t.Errorf("a no-op is not a warning:\n%s", log)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T/B/X":  "https://hooks.slack.com/***",
		"https://events.pagerduty.com/v2/enqueue": "https://events.pagerduty.com/***",
		"http://127.0.0.1:8080":                   "http://127.0.0.1:8080",
		"http://user:pw@host/":                    "http://host/***",
		"http://host/?token=abc":                  "http://host/***",
		"not a url":                               "***",
	} {
		if got := notify.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
