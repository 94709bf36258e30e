package engine

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// The status page: GET / renders the snapshot GET /status serves
// (operation.status, the one source of truth) as HTML, readable without
// JavaScript; GET /events pushes the same page's live part, rendered by
// the same template, as server-sent events whenever the operation's state
// changes. No external assets: the CSS and the script are inline.

//go:embed operate_page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"deref": func(b *bool) bool { return b != nil && *b },
}).Parse(pageHTML))

// changes wakes the watchers of an operation's state: bump closes the
// channel wait returned and makes a new one.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait is a channel closed at the next bump.
func (c *changes) wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

// bump says the state changed.
func (c *changes) bump() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// setLeader sets the leader /status and the page report (gxl operate
// --ha); a new leader is an event (kind leader), the page's failover
// history.
func (op *operation) setLeader(l LeaderStatus) {
	op.mu.Lock()
	changed := op.leader == nil || op.leader.Identity != l.Identity
	op.leader = &l
	op.mu.Unlock()
	if !changed || l.Identity == "" {
		op.changes.bump()
		return
	}
	msg := l.Identity + " leads"
	if l.Self {
		msg += " (this replica)"
	}
	op.event(Event{Kind: "leader", Message: msg})
}

// pageLive is how often at most the live updates are pushed: a flow's
// statements may change its step thousands of times a second.
const pageLive = 100 * time.Millisecond

// pageKeepAlive is the period of the comment that keeps an idle event
// stream open through proxies.
const pageKeepAlive = 15 * time.Second

func (op *operation) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		if err := pageTemplate.Execute(&b, newPageView(op.status())); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b.Bytes())
	})
	mux.HandleFunc("GET /events", op.serveEvents)
}

// serveEvents streams the page's live part: once at once, then after
// every change (at most every pageLive), until the client goes or the
// server shuts down.
func (op *operation) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	ctx := r.Context()
	for {
		changed := op.changes.wait()
		var b bytes.Buffer
		if err := pageTemplate.ExecuteTemplate(&b, "live", newPageView(op.status())); err != nil {
			return
		}
		if _, err := w.Write(sseData(b.Bytes())); err != nil {
			return
		}
		fl.Flush()
		if !waitChange(ctx, changed) {
			return
		}
		// coalesce a burst of changes into one update
		select {
		case <-ctx.Done():
			return
		case <-time.After(pageLive):
		}
	}
}

// waitChange waits for changed, writing nothing; false when ctx ended.
func waitChange(ctx context.Context, changed <-chan struct{}) bool {
	select {
	case <-ctx.Done():
		return false
	case <-changed:
		return true
	}
}

// sseData is one server-sent event carrying text: a data: line per line.
func sseData(text []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
		b.WriteString("data: ")
		b.WriteString(strings.TrimRight(line, "\r"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// pageView is a Status as the page shows it: nothing in it is computed
// from anything but the snapshot.
type pageView struct {
	Status
	Stages    []string
	Rows      []pageRow
	Runs      []runningRun
	Next      []flowStatus
	Recent    []Event
	Alerts    []Event
	Failovers []Event
	Counts    []pageFailovers
}

// pageRow is a module of the module × stage table: its health, as
// operate.mark reported it, and per stage (a flow's name without its
// module) the flow's state, nil when the module has no such flow.
type pageRow struct {
	Module string
	Health *moduleStatus
	Cells  []*flowStatus
}

type pageFailovers struct {
	Module string
	moduleStatus
}

// pageEvents and pageAlerts are how many recent events and alerts the
// page lists (the failover history lists every one /status keeps).
const (
	pageEvents = 30
	pageAlerts = 10
)

func newPageView(s Status) pageView {
	v := pageView{Status: s}
	rows := map[string]*pageRow{}
	row := func(m string) *pageRow {
		if rows[m] == nil {
			rows[m] = &pageRow{Module: m}
		}
		return rows[m]
	}
	col := map[string]int{}
	for i := range s.Flows {
		f := &s.Flows[i]
		st := stageOf(f.Flow)
		if _, ok := col[st]; !ok {
			col[st] = len(v.Stages)
			v.Stages = append(v.Stages, st)
		}
		row(f.Module)
		if f.Next != nil {
			v.Next = append(v.Next, *f)
		}
	}
	for m := range s.Modules {
		h := s.Modules[m]
		row(m).Health = &h
		if h.Failovers > 0 {
			v.Counts = append(v.Counts, pageFailovers{Module: m, moduleStatus: h})
		}
	}
	for i := range s.Flows {
		f := &s.Flows[i]
		r := row(f.Module)
		if r.Cells == nil {
			r.Cells = make([]*flowStatus, len(v.Stages))
		}
		r.Cells[col[stageOf(f.Flow)]] = f
	}
	for _, r := range rows {
		if r.Cells == nil {
			r.Cells = make([]*flowStatus, len(v.Stages))
		}
		v.Rows = append(v.Rows, *r)
	}
	sort.Slice(v.Rows, func(i, j int) bool { return v.Rows[i].Module < v.Rows[j].Module })
	sort.Slice(v.Counts, func(i, j int) bool { return v.Counts[i].Module < v.Counts[j].Module })
	sort.SliceStable(v.Next, func(i, j int) bool { return v.Next[i].Next.Before(*v.Next[j].Next) })
	v.Runs = append(v.Runs, s.Running...)
	sort.Slice(v.Runs, func(i, j int) bool { return v.Runs[i].Started.Before(v.Runs[j].Started) })
	for i := len(s.Events) - 1; i >= 0; i-- {
		ev := s.Events[i]
		if len(v.Recent) < pageEvents {
			v.Recent = append(v.Recent, ev)
		}
		switch ev.Kind {
		case "failed", "unhealthy", "error":
			if len(v.Alerts) < pageAlerts {
				v.Alerts = append(v.Alerts, ev)
			}
		case "failover", "leader":
			v.Failovers = append(v.Failovers, ev)
		}
	}
	return v
}

// stageOf is a flow's name without its module: main.health_check →
// health_check.
func stageOf(flow string) string {
	if _, st, ok := strings.Cut(flow, "."); ok {
		return st
	}
	return flow
}

// Ago says how long before the snapshot t was: "12s ago".
func (v pageView) Ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return span(v.Now.Sub(t)) + " ago"
}

// In says how long after the snapshot t is: "in 4s".
func (v pageView) In(t time.Time) string {
	d := t.Sub(v.Now)
	if d <= 0 {
		return "due"
	}
	return "in " + span(d)
}

// Stamp is t as the page's scripts read it (RFC 3339 with milliseconds).
func (v pageView) Stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// Clock is t in the operator's time zone, to the second.
func (v pageView) Clock(t time.Time) string {
	if loc, err := time.LoadLocation(v.TimeZone); err == nil {
		t = t.In(loc)
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

// span is a duration to the unit a reader needs: 0s, 42s, 3m12s,
// 2h05m, 3d04h.
func span(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}
