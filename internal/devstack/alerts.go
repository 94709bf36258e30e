package devstack

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// AlertSink is a local receiver of the alerts gxl sends (notify.slack,
// notify.pagerduty): an HTTP server that takes any POST of JSON, prints
// one line per alert and keeps them. The demo points SLACK_WEBHOOK_URL
// at Addr()+"/slack" and PAGERDUTY_EVENTS_URL at Addr()+"/pagerduty".
type AlertSink struct {
	srv *http.Server
	ln  net.Listener
	out io.Writer

	mu     sync.Mutex
	alerts []string
}

// StartAlertSink listens on addr ("127.0.0.1:0" picks a port) and prints
// each alert received to out.
func StartAlertSink(addr string, out io.Writer) (*AlertSink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &AlertSink{ln: ln, out: out}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is the sink's base URL (http://host:port).
func (s *AlertSink) Addr() string { return "http://" + s.ln.Addr().String() }

// Alerts are the lines printed so far.
func (s *AlertSink) Alerts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.alerts...)
}

// Close stops the server.
func (s *AlertSink) Close() error { return s.srv.Close() }

func (s *AlertSink) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an alert", http.StatusMethodNotAllowed)
		return
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	line := describeAlert(r.URL.Path, m)
	s.mu.Lock()
	s.alerts = append(s.alerts, line)
	fmt.Fprintf(s.out, "%s %s\n", time.Now().Format("15:04:05"), line)
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// describeAlert is one line for an alert: a Slack message's text, a
// PagerDuty event's action, dedup key and summary.
func describeAlert(path string, m map[string]any) string {
	if text, ok := m["text"].(string); ok {
		return "slack: " + text
	}
	if action, ok := m["event_action"].(string); ok {
		summary := ""
		if p, ok := m["payload"].(map[string]any); ok {
			summary, _ = p["summary"].(string)
		}
		return fmt.Sprintf("pagerduty %s %v: %s", action, m["dedup_key"], summary)
	}
	b, _ := json.Marshal(m)
	return strings.TrimPrefix(path, "/") + ": " + string(b)
}
