package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/engine"
)

// operator is an engine.Operate of a program in a folder of its own, on
// the real clock, serving on a free port.
type operator struct {
	root      string
	addr      string
	setLeader func(engine.LeaderStatus)
}

// startOperator operates src (w.gxl) with the secrets file sec.yml (when
// sec is not empty) until the test ends.
func startOperator(t *testing.T, src, sec string) *operator {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "w.gxl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var opts []engine.Option
	if sec != "" {
		p := filepath.Join(root, "sec.yml")
		if err := os.WriteFile(p, []byte(sec), 0o600); err != nil {
			t.Fatal(err)
		}
		opts = append(opts, engine.WithSecretsFile(p))
	}
	e, err := engine.New(append([]engine.Option{engine.WithDir(root), engine.WithJournal(root)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	p := e.Load(filepath.Join(root, "w.gxl"))
	if !p.OK() {
		t.Fatalf("load: %v", p.Diags)
	}
	op := &operator{root: root}
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.Operate(ctx, p, engine.WithListen("127.0.0.1:0"),
			engine.WithReady(func(addr string) { ready <- addr }),
			engine.WithLeaderHook(func(set func(engine.LeaderStatus)) { op.setLeader = set }))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Operate: %v", err)
		}
	})
	select {
	case op.addr = <-ready:
	case err := <-done:
		t.Fatalf("Operate: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the operator did not listen within 30s")
	}
	return op
}

func (op *operator) get(t *testing.T, path string) string {
	t.Helper()
	res, err := http.Get("http://" + op.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, res.Status, b)
	}
	return string(b)
}

// status is GET /status.
func (op *operator) status(t *testing.T) engine.Status {
	t.Helper()
	var s engine.Status
	if err := json.Unmarshal([]byte(op.get(t, "/status")), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitLast waits until flow's last run ended as result.
func (op *operator) waitLast(t *testing.T, flow, result string) time.Time {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, f := range op.status(t).Flows {
			if f.Flow == flow && f.Last != nil && f.Last.Result == result {
				return f.Last.Ended
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not end %s within 30s: %+v", flow, result, op.status(t).Flows)
	return time.Time{}
}

// A failing flow whose message holds markup and a secret, and a module
// whose name is markup.
const pageProgram = `mod main {
    #[every("1h")]
    flow leak {
        gx.cmd("test '${SEC_TOKEN}' = '<b>bold</b>'");
    }
    #[every("1h")]
    flow mark {
        operate.mark("<img src=x onerror=alert(1)>", healthy: false);
    }
}
`

// TestStatusPage: GET / renders the snapshot /status serves — the module ×
// stage table, the leader (or that there is none), the alerts — every
// text HTML-escaped and the secrets masked.
func TestStatusPage(t *testing.T) {
	op := startOperator(t, pageProgram, "token: hunter2-s3cret\n")
	op.waitLast(t, "main.leak", "failed")
	op.waitLast(t, "main.mark", "succeeded")

	page := op.get(t, "/")
	for _, want := range []string{
		`<table id="stages">`,
		`<th>leak</th><th>mark</th>`,
		`<tr data-module="main"><th>main</th>`,
		`<td class="failed" data-flow="main.leak"`,
		`<td class="succeeded" data-flow="main.mark"`,
		`<th>&lt;img src=x onerror=alert(1)&gt;</th><td class="unhealthy">unhealthy`,
		`test &#39;***&#39; = &#39;&lt;b&gt;bold&lt;/b&gt;&#39;`,
		`single operator, no election`,
		`<noscript><meta http-equiv="refresh" content="5"></noscript>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s\n%s", want, page)
		}
	}
	for _, bad := range []string{"hunter2-s3cret", "<b>bold", "<img src=x", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}

	// The leader: /status and the page say the same.
	since := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	for _, c := range []struct {
		leader engine.LeaderStatus
		page   string
	}{
		{engine.LeaderStatus{Identity: "gxl-0", Self: true, Since: since}, `leader: gxl-0 (this replica) <small>since`},
		{engine.LeaderStatus{Identity: "gxl-<1>", Since: since}, `leader: gxl-&lt;1&gt; <small>since`},
	} {
		op.setLeader(c.leader)
		if got := op.status(t).Leader; got == nil || *got != c.leader {
			t.Errorf("/status leader = %+v, want %+v", got, c.leader)
		}
		page := op.get(t, "/")
		if !strings.Contains(page, c.page) {
			t.Errorf("leader %+v: the page lacks %s", c.leader, c.page)
		}
		if strings.Contains(page, "no election") {
			t.Errorf("leader %+v: the page still says there is no election", c.leader)
		}
	}
	// Each new leader is in the failover history; the same leader again
	// (a renewal) is not.
	op.setLeader(engine.LeaderStatus{Identity: "gxl-<1>", Since: since})
	var leaders []string
	for _, ev := range op.status(t).Events {
		if ev.Kind == "leader" {
			leaders = append(leaders, ev.Message)
		}
	}
	if got := strings.Join(leaders, "; "); got != "gxl-0 leads (this replica); gxl-<1> leads" {
		t.Errorf("leader events: %s", got)
	}
	if page := op.get(t, "/"); !strings.Contains(page, `<tr class="leader"><td><time`) || !strings.Contains(page, `<td>gxl-&lt;1&gt; leads</td>`) {
		t.Errorf("the failover history lacks the new leaders:\n%s", page)
	}
}

// TestStatusPageEvents: GET /events sends the page's live part at once,
// then again when the operator's state changes.
func TestStatusPageEvents(t *testing.T) {
	op := startOperator(t, pageProgram, "token: x\n")
	op.waitLast(t, "main.mark", "succeeded")
	op.waitLast(t, "main.leak", "failed")
	res, err := http.Get("http://" + op.addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := make(chan string, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		var data []string
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				events <- strings.Join(data, "\n")
				data = nil
				continue
			}
			d, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				t.Errorf("not a data line: %q", line)
			}
			data = append(data, d)
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			return ev
		case <-time.After(2 * time.Second):
			t.Fatal("no event within 2s")
		}
		return ""
	}
	first := next()
	for _, want := range []string{`<div id="snapshot"`, `<table id="stages">`, "single operator, no election", `data-flow="main.leak"`} {
		if !strings.Contains(first, want) {
			t.Errorf("the first event lacks %s:\n%s", want, first)
		}
	}
	if strings.Contains(first, "<html") {
		t.Error("the event holds the whole page, not its live part")
	}
	op.setLeader(engine.LeaderStatus{Identity: "gxl-2", Self: false, Since: time.Now()})
	for {
		ev := next()
		if strings.Contains(ev, "leader: gxl-2 <small>") {
			break
		}
	}
	res.Body.Close()
	wg.Wait()
}
