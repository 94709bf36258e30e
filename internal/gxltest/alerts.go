package gxltest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Alerts is a real HTTP server on loopback standing in for Slack (an
// incoming webhook at SlackPath) and PagerDuty's Events API v2
// (/v2/enqueue): it keeps the texts and events it receives, and fails the
// test on a body that is not JSON or a request to any other path.
type Alerts struct {
	*httptest.Server
	SlackPath string
	mu        sync.Mutex
	slack     []string
	pd        []map[string]any
}

// NewAlerts starts the receiver; the test's cleanup closes it.
func NewAlerts(t testing.TB, slackPath string) *Alerts {
	a := &Alerts{SlackPath: slackPath}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("%s: not JSON: %v", r.URL.Path, err)
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		switch r.URL.Path {
		case a.SlackPath:
			text, _ := m["text"].(string)
			a.slack = append(a.slack, text)
		case "/v2/enqueue":
			a.pd = append(a.pd, m)
		default:
			t.Errorf("request to %s", r.URL.Path)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(a.Close)
	return a
}

// Got returns copies of the Slack texts and PagerDuty events received.
func (a *Alerts) Got() ([]string, []map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.slack...), append([]map[string]any(nil), a.pd...)
}
