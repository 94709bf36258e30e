package devstack

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// TestAlertSinkPrintsAlerts: the sink takes a Slack message and a
// PagerDuty event and prints one line for each; anything but a JSON POST
// is refused.
func TestAlertSinkPrintsAlerts(t *testing.T) {
	var out syncBuffer
	s, err := StartAlertSink("127.0.0.1:0", &out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		path, body string
		code       int
	}{
		{"/slack", `{"text":"[sys production] critical: failover of postgres_primary started"}`, 202},
		{"/pagerduty", `{"event_action":"resolve","dedup_key":"sys/failover/postgres_primary","payload":{"summary":"failover done"}}`, 202},
		{"/slack", `not json`, 400},
	} {
		resp, err := http.Post(s.Addr()+c.path, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("POST %s %s: %d, want %d", c.path, c.body, resp.StatusCode, c.code)
		}
	}
	want := []string{
		"slack: [sys production] critical: failover of postgres_primary started",
		"pagerduty resolve sys/failover/postgres_primary: failover done",
	}
	if got := s.Alerts(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alerts %q, want %q", got, want)
	}
	if printed := out.b.String(); !strings.Contains(printed, want[0]) || !strings.Contains(printed, want[1]) {
		t.Fatalf("printed:\n%s", printed)
	}
}
