package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/predef"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/system/operator"
)

// DefaultListen is where `gxl operate` serves /healthz, /status and
// /metrics.
const DefaultListen = "127.0.0.1:9464"

// OperateOption configures Operate.
type OperateOption func(*operateConfig)

type operateConfig struct {
	listen string
	clock  operator.Clock
	ready  func(addr string)
	retain OperatedRetention
	// begun, when set, is called with the operation before it serves
	// (tests: setLeader).
	begun    func(*operation)
	ha       *HA // --ha: act only while holding the lease (operate_ha.go)
	shutdown Shutdown
}

// Shutdown is how Operate stops once its context ends (SIGINT/SIGTERM):
// the running flows are cancelled, their undo runs, and then the
// #[on_failure] flow of each triggered run the stop cut short runs, with
// FAILED_ERROR naming the cause ("cancelled by signal SIGTERM"). All that
// within Grace of the stop; when Grace runs out, or Now ends (a second
// signal), the operator stops at once: the journals of the runs still
// going are abandoned (they stay interrupted, and the next operator
// resumes them, their on_failure flow included), their running statement
// is cancelled, and Operate returns.
type Shutdown struct {
	// Grace is how long the undo and on_failure flows have after the
	// stop; 0 is DefaultShutdownGrace.
	Grace time.Duration
	// Now, when it ends, stops at once (nil: only Grace does).
	Now context.Context
}

// DefaultShutdownGrace is the shutdown grace of gxl operate: what a
// process manager commonly allows between SIGTERM and SIGKILL (systemd's
// TimeoutStopSec is 90 s, Kubernetes' terminationGracePeriodSeconds 30 s).
const DefaultShutdownGrace = 30 * time.Second

// WithShutdown sets how Operate stops (default: DefaultShutdownGrace, no
// second stop).
func WithShutdown(s Shutdown) OperateOption { return func(c *operateConfig) { c.shutdown = s } }

// OperatedRetention is how long gxl operate keeps the journals of the
// runs it starts (a 30 s health check makes thousands a day): a
// succeeded run an operator started goes once it is older than Age,
// unless it is among the Keep newest succeeded runs of its flow. Failed
// and interrupted runs follow the rule of every run: they stay until
// `gxl runs prune --failed`. The operator applies it, and the engine's
// run retention (WithRunRetention) to every other run, when it starts and
// then every Every — never at a run's start.
type OperatedRetention struct {
	Age   time.Duration
	Keep  int
	Every time.Duration
}

// DefaultOperatedRetention: an hour of succeeded operated runs, at least
// the last 10 of each flow, applied every 10 minutes.
var DefaultOperatedRetention = OperatedRetention{Age: time.Hour, Keep: 10, Every: 10 * time.Minute}

// WithOperatedRetention sets the retention of operated runs (default
// DefaultOperatedRetention; Age 0 keeps them all, Every 0 the default).
func WithOperatedRetention(r OperatedRetention) OperateOption {
	return func(c *operateConfig) { c.retain = r }
}

// WithListen sets the address of the HTTP endpoints (default
// DefaultListen; port 0 picks a free one, see WithReady).
func WithListen(addr string) OperateOption { return func(c *operateConfig) { c.listen = addr } }

// WithOperateClock sets the trigger loop's clock (tests).
func WithOperateClock(k operator.Clock) OperateOption {
	return func(c *operateConfig) { c.clock = k }
}

// WithReady is called with the address the endpoints listen on, once they
// do.
func WithReady(f func(addr string)) OperateOption { return func(c *operateConfig) { c.ready = f } }

// ErrNoTriggers refuses to operate a program none of whose flows has an
// #[every] or #[cron] trigger.
var ErrNoTriggers = errors.New("no flow has a trigger: annotate the flows to run with #[every(\"30s\")] or #[cron(\"0 1 * * *\")]")

// ListenError is an address the endpoints cannot listen on.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string { return fmt.Sprintf("cannot listen on %s: %v", e.Addr, e.Err) }
func (e *ListenError) Unwrap() error { return e.Err }

// Operate runs the flows of p on their triggers until ctx ends (gxl
// operate): first it resumes the runs of an earlier operator of the same
// file that were interrupted (killed), then it starts the trigger loop.
// Every run is journaled like a run of NewRun; a failed flow with an
// #[on_failure] flow has it run next, with the failure in the FAILED_*
// variables. When ctx ends, running flows are cancelled (with their
// undo), and Operate returns nil once they have. The HTTP endpoints
// (/healthz, /status, /metrics) serve until then.
func (e *Engine) Operate(ctx context.Context, p *Program, opts ...OperateOption) error {
	cfg := operateConfig{listen: DefaultListen, clock: operator.RealClock{}, retain: DefaultOperatedRetention}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.retain.Every <= 0 {
		cfg.retain.Every = DefaultOperatedRetention.Every
	}
	if cfg.retain.Age < 0 || cfg.retain.Keep < 0 {
		return fmt.Errorf("the retention of operated runs cannot be negative")
	}
	if cfg.shutdown.Grace < 0 {
		return fmt.Errorf("the shutdown grace cannot be negative")
	}
	if cfg.shutdown.Grace == 0 {
		cfg.shutdown.Grace = DefaultShutdownGrace
	}
	if !p.OK() {
		return fmt.Errorf("%s: the program has errors", p.File)
	}
	trs, ds := p.Triggers(e.lookup(p))
	if len(ds) > 0 {
		return &TriggerError{Diags: ds}
	}
	jobs := operator.NewJobs(trs)
	if len(jobs) == 0 {
		return ErrNoTriggers
	}
	op := newOperation(e, p, trs, jobs, cfg.clock)
	halt, haltNow := context.WithCancelCause(context.Background())
	defer haltNow(nil)
	op.stop, op.halt = ctx, halt
	if cfg.ha != nil {
		el, err := newElection(op, *cfg.ha)
		if err != nil {
			return err
		}
		op.ha = el
		// Replicas run on different machines: their runs' journals are
		// kept in the API server of the lease (a new leader resumes the
		// run the old one left), unless WithDiskState; what the cluster
		// state leaves unsaid is the lease's.
		if e.cfg.state == nil {
			e.cfg.state = &stateRef{cluster: &ClusterState{}}
		}
		if c := e.cfg.state.cluster; c != nil {
			if c.Namespace == "" {
				c.Namespace = el.ns
			}
			if c.Identity == "" {
				c.Identity = el.h.Identity
			}
			if c.Rest == nil && c.Kubeconfig == "" {
				c.Rest = el.rest
			}
		}
	}
	var err error
	if op.store, err = e.runStore(); err != nil {
		return err
	}
	op.shape = e.shapeRun(p)
	if cfg.begun != nil {
		cfg.begun(op)
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return &ListenError{Addr: cfg.listen, Err: err}
	}
	srv := &http.Server{Handler: op.handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-served
	}()
	if cfg.ready != nil {
		cfg.ready(ln.Addr().String())
	}
	op.log("operator started", zap.String("listen", ln.Addr().String()), zap.Int("triggers", len(jobs)), zap.String("tz", e.TimeZone().String()))
	acted := make(chan struct{})
	defer close(acted)
	go op.shutdown(cfg.shutdown, haltNow, acted)
	if cfg.ha != nil {
		err = op.operateHA(ctx, cfg)
	} else {
		op.act(ctx, cfg)
	}
	op.setState("stopped")
	op.log("operator stopped")
	return err
}

// act resumes the interrupted runs, then runs the trigger loop and the
// retention until ctx ends: all of the operator that changes anything.
// Under --ha only the replica holding the lease acts (operateHA).
func (op *operation) act(ctx context.Context, cfg operateConfig) {
	op.resumeInterrupted(ctx)
	op.retain(cfg.retain)
	retained := make(chan struct{})
	go func() {
		defer close(retained)
		for {
			select {
			case <-ctx.Done():
				return
			case <-cfg.clock.After(cfg.retain.Every):
				op.retain(cfg.retain)
			}
		}
	}()
	op.setState("running")
	loop := &operator.Loop{Clock: cfg.clock, Location: op.e.TimeZone(), Jobs: op.jobs, Run: op.runJob, Observer: op}
	loop.Start(ctx)
	<-retained
}

// shutdown waits for the stop of the operator (its context), then gives
// the undo and on_failure flows of the runs the stop cut short the grace
// of s; when it runs out, or s.Now ends first, it halts: the journals of
// the runs still going are abandoned (interrupted, for the next operator
// to resume), then their statements are cancelled (halt). It returns when
// done closes (Operate returns).
func (op *operation) shutdown(s Shutdown, halt context.CancelCauseFunc, done <-chan struct{}) {
	select {
	case <-op.stop.Done():
	case <-done:
		return
	}
	why := context.Cause(op.stop)
	op.event(Event{Kind: "stopping", Message: fmt.Sprintf("%v: the running flows are cancelled; their undo and on_failure flows have %s", why, s.Grace)})
	op.log("stopping", zap.String("why", why.Error()), zap.Duration("grace", s.Grace))
	var now <-chan struct{}
	if s.Now != nil {
		now = s.Now.Done()
	}
	select {
	case <-op.clock.After(s.Grace):
		why = fmt.Errorf("the shutdown grace of %s ran out", s.Grace)
	case <-now:
		why = context.Cause(s.Now)
	case <-done:
		return
	}
	op.event(Event{Kind: "halted", Message: fmt.Sprintf("%v: stopped at once; the runs still going stay interrupted for the next operator to resume", why)})
	op.log("stopped at once: the runs still going stay interrupted for the next operator to resume", zap.String("why", why.Error()))
	op.mu.Lock()
	op.halted = true // a run starting from now on is abandoned at once (start)
	op.mu.Unlock()
	op.abandonRunning()
	halt(why)
}

// abandonRunning abandons the journals of the runs running: whatever they
// do from now on is not recorded, and they read as interrupted.
func (op *operation) abandonRunning() {
	op.mu.Lock()
	js := make([]*runtime.Journal, 0, len(op.journals))
	for j := range op.journals {
		js = append(js, j)
	}
	op.mu.Unlock()
	for _, j := range js {
		j.Abandon()
	}
}

// operation is one Operate: its state, served by /status and /metrics.
type operation struct {
	e       *Engine
	p       *Program
	jobs    []*operator.Job
	file    string
	clock   operator.Clock
	store   runtime.RunStore // where its runs' journals are
	metrics *metrics
	trigger map[string]*check.Trigger // by qualified flow name

	// shape is what every triggered run copies (Engine.shapeRun): made
	// once, not at each of thousands of runs.
	shape *runShape

	// ha is the leader election of --ha (nil without).
	ha *election
	// stop is Operate's context: its end stops the operator. halt ends
	// when the shutdown grace ran out or a second stop came
	// (Shutdown): the runs still going stop at once.
	stop, halt context.Context

	mu      sync.Mutex
	state   string // resuming, running, following (--ha), stopped
	started time.Time
	flows   map[string]*flowStatus
	order   []string
	running map[string]*runningRun // by run id
	// journals are those of the runs running (abandoned by a halt, or
	// when an --ha replica stops leading); halted: the operator halted.
	journals map[*runtime.Journal]bool
	halted   bool
	modules  map[string]*moduleStatus
	events   []Event
	leader   *LeaderStatus // nil: a single operator, no election

	// changes wakes the status page's live updates (operate_page.go).
	changes changes
}

// flowStatus is one triggered flow in /status.
type flowStatus struct {
	Flow    string     `json:"flow"`
	Module  string     `json:"module"`
	Trigger string     `json:"trigger"`
	Window  string     `json:"window,omitempty"`
	Next    *time.Time `json:"next,omitempty"`
	Running bool       `json:"running"`
	Last    *RunResult `json:"last,omitempty"`
	// OnFailure is the #[on_failure] flow.
	OnFailure string `json:"on_failure,omitempty"`
}

// RunResult is how a run of a flow ended.
type RunResult struct {
	Run      string    `json:"run,omitempty"`
	Result   string    `json:"result"` // succeeded, failed
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
	Duration float64   `json:"duration_seconds"`
	Error    string    `json:"error,omitempty"`
	At       string    `json:"at,omitempty"`
}

type runningRun struct {
	Flow    string    `json:"flow"`
	Run     string    `json:"run,omitempty"`
	Trigger string    `json:"trigger"`
	Started time.Time `json:"started"`
	// Step is the statement running now: its position and flow stack.
	Step string `json:"step,omitempty"`
}

type moduleStatus struct {
	Healthy   *bool     `json:"healthy,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Failovers int       `json:"failovers"`
	// LastFailover is when the last failover was reported.
	LastFailover time.Time `json:"last_failover,omitzero"`
}

// Event is one thing the operator did, in /status.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"` // started, succeeded, failed, resumed, on_failure, healthy, unhealthy, failover, leader, stopping, halted, error
	Flow    string    `json:"flow,omitempty"`
	Module  string    `json:"module,omitempty"`
	Run     string    `json:"run,omitempty"`
	Message string    `json:"message,omitempty"`
}

// maxEvents is how many recent events /status keeps.
const maxEvents = 100

// recentEvents are the last maxEvents events; op.mu held.
func (op *operation) recentEvents() []Event {
	return op.events[max(0, len(op.events)-maxEvents):]
}

func newOperation(e *Engine, p *Program, trs []*check.Trigger, jobs []*operator.Job, clock operator.Clock) *operation {
	abs, _ := filepath.Abs(p.File)
	op := &operation{e: e, p: p, jobs: jobs, file: abs, clock: clock, state: "resuming", started: clock.Now(),
		flows: map[string]*flowStatus{}, running: map[string]*runningRun{}, modules: map[string]*moduleStatus{},
		trigger: map[string]*check.Trigger{}, journals: map[*runtime.Journal]bool{}}
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	op.metrics = newMetrics(names)
	for _, t := range trs {
		op.trigger[t.Flow.QualifiedName()] = t
	}
	for _, j := range jobs {
		t := j.Trigger
		fs := &flowStatus{Flow: j.Name, Module: t.Flow.Owner.Name, Trigger: triggerText(t)}
		if t.Window != nil {
			fs.Window = t.Window.String()
		}
		if t.OnFailure != nil {
			fs.OnFailure = t.OnFailure.QualifiedName()
		}
		op.flows[j.Name] = fs
		op.order = append(op.order, j.Name)
	}
	return op
}

// triggerText describes a trigger: "every 30s", "cron 0 1 * * *".
func triggerText(t *check.Trigger) string {
	var parts []string
	if t.Every > 0 {
		parts = append(parts, "every "+t.Every.String())
	}
	if t.Cron != nil {
		parts = append(parts, "cron "+t.CronText)
	}
	return strings.Join(parts, ", ")
}

func (op *operation) log(msg string, fields ...zap.Field) {
	if op.e.cfg.log != nil {
		op.e.cfg.log.Info(msg, fields...)
	}
}

func (op *operation) setState(s string) {
	op.mu.Lock()
	op.state = s
	op.mu.Unlock()
	op.changes.bump()
}

func (op *operation) event(ev Event) {
	ev.Time = op.clock.Now()
	op.mu.Lock()
	op.events = append(op.events, ev)
	// Cut back to maxEvents once twice as many are kept: cut at every
	// event, each event copied the hundred before it (four events a
	// second from the probes of an idle operator).
	if len(op.events) >= 2*maxEvents {
		op.events = append(op.events[:0:0], op.events[len(op.events)-maxEvents:]...)
	}
	op.mu.Unlock()
	op.changes.bump()
}

// Scheduled implements operator.Observer.
func (op *operation) Scheduled(j *operator.Job, at time.Time) {
	defer op.changes.bump()
	op.mu.Lock()
	defer op.mu.Unlock()
	if fs := op.flows[j.Name]; fs != nil {
		if at.IsZero() {
			fs.Next = nil
		} else {
			at := at.In(op.e.TimeZone())
			fs.Next = &at
		}
	}
}

// runJob runs a due flow, then its #[on_failure] flow when it failed.
func (op *operation) runJob(ctx context.Context, j *operator.Job) error {
	err := op.runFlow(ctx, j.Name, runtime.Header{Trigger: triggerText(j.Trigger)})
	op.onFailure(ctx, j.Trigger, j.Name, err, "")
	return err
}

// onFailure runs the #[on_failure] flow of t, if it has one, after a run
// of flow (a triggered run or a resumed one) failed with err; not for a
// run stopped by the fence (it did not fail: the next leader goes on with
// it). When the operator is stopping (SIGINT/SIGTERM), a run the stop cut
// short (its undo done) is handled within the shutdown grace, its
// FAILED_ERROR saying so; once the operator halted, nothing is. note is
// added to FAILED_ERROR (a resumed run says so).
func (op *operation) onFailure(ctx context.Context, t *check.Trigger, flow string, err error, note string) {
	if err == nil || t == nil || t.OnFailure == nil || errors.Is(err, runtime.ErrFenced) {
		return
	}
	f := failureOf(t.Flow, err)
	if ctx.Err() != nil {
		// Stopped: by the operator's stop, not a lost lease (--ha), and
		// not yet halted.
		if op.stop.Err() == nil || op.halt.Err() != nil {
			return
		}
		ctx = op.halt
		if builtin.IsStop(err) {
			note = "gxl operate is stopping: the run was cut short, its undo ran, and the next operator does not resume it"
		}
	}
	if note != "" {
		f.Error += " (" + note + ")"
	}
	handler := t.OnFailure.QualifiedName()
	op.event(Event{Kind: "on_failure", Flow: handler, Message: "handles the failure of " + flow})
	if herr := op.runFlow(ctx, handler, runtime.Header{Trigger: "on_failure of " + flow, Failure: &f}); herr != nil {
		op.log("the on_failure flow failed", zap.String("flow", handler), zap.String("error", herr.Error()))
	}
}

// failureOf is the failure of flow f as its #[on_failure] flow sees it.
func failureOf(f *check.Flow, err error) predef.Failure {
	out := predef.Failure{Module: f.Owner.Name, Flow: f.QualifiedName(), Error: err.Error()}
	var se *runtime.StepError
	if errors.As(err, &se) {
		d := se.Diagnostic()
		out.Error = d.Summary
		if se.Span.IsValid() {
			out.At = se.Span.Start.String()
		}
	}
	return out
}

// runFlow runs flow in a new journaled run.
func (op *operation) runFlow(ctx context.Context, flow string, h runtime.Header) error {
	if err := op.ha.fence(ctx); err != nil {
		return err // no journal for a run that may not start
	}
	r, err := op.e.newShapedRun(op.shape, op.store, op.p, []string{flow}, h)
	if err != nil {
		now := op.clock.Now()
		op.finish(flow, "", now, now, err)
		return err
	}
	return op.start(ctx, r, flow, h.Trigger, true)
}

// start runs a prepared run, keeping its state for /status and /metrics.
// With dropQuiet, a run that succeeded without changing anything outside
// gxl (Journal.Changed: a probe that found everything as it should be)
// leaves no journal: a flow triggered every second would otherwise leave
// 86,400 a day. Its result stays in /status and /metrics, without a run id.
func (op *operation) start(ctx context.Context, r *Run, flow, trigger string, dropQuiet bool) error {
	began := op.clock.Now()
	id := r.ID()
	key := id
	if key == "" {
		key = flow + "@" + began.String()
	}
	rr := &runningRun{Flow: flow, Run: id, Trigger: trigger, Started: began}
	op.mu.Lock()
	op.running[key] = rr
	if fs := op.flows[flow]; fs != nil {
		fs.Running = true
	}
	op.mu.Unlock()
	op.event(Event{Kind: "started", Flow: flow, Run: id, Message: trigger})
	op.log("flow started", zap.String("flow", flow), zap.String("run", id), zap.String("trigger", trigger))
	r.Options.Hooks = &stepHooks{op: op, run: rr}
	r.Options.Host.Marks = op
	r.Options.Halt = op.halt
	if r.Journal != nil {
		op.mu.Lock()
		op.journals[r.Journal] = true
		if op.halted {
			r.Journal.Abandon()
		}
		op.mu.Unlock()
		defer func() {
			op.mu.Lock()
			delete(op.journals, r.Journal)
			op.mu.Unlock()
		}()
	}
	if op.ha != nil {
		r.Options.Fence = op.ha.fence
	}
	err := r.Start(ctx)
	op.mu.Lock()
	delete(op.running, key)
	if errors.Is(err, runtime.ErrFenced) {
		if fs := op.flows[flow]; fs != nil {
			fs.Running = false
		}
	}
	op.mu.Unlock()
	if errors.Is(err, runtime.ErrFenced) {
		op.fenced(flow, id, err)
		return err
	}
	if dropQuiet && err == nil && r.Journal != nil && !r.Journal.Changed() {
		if !r.Journal.OnDisk() {
			id = "" // never written (runtime.CreateDeferredJournal)
		} else if rerr := op.store.Remove(id); rerr != nil {
			op.log("the journal of a run that changed nothing was not removed", zap.String("run", id), zap.Error(rerr))
		} else {
			id = ""
		}
	}
	op.finish(flow, id, began, op.clock.Now(), err)
	return err
}

// finish records how a run of flow ended.
func (op *operation) finish(flow, id string, began, ended time.Time, err error) {
	res := &RunResult{Run: id, Result: "succeeded", Started: began, Ended: ended, Duration: ended.Sub(began).Seconds()}
	if err != nil {
		res.Result = "failed"
		f := failureOf(&check.Flow{Name: flow, Owner: &check.Module{}}, err)
		res.Error, res.At = f.Error, f.At
	}
	op.metrics.observe(flow, res)
	op.mu.Lock()
	if fs := op.flows[flow]; fs != nil {
		fs.Running = false
		fs.Last = res
	} else {
		// an on_failure flow or a resumed run of a flow no longer
		// triggered: listed with its last result.
		op.flows[flow] = &flowStatus{Flow: flow, Module: moduleOf(flow), Last: res}
		op.order = append(op.order, flow)
	}
	op.mu.Unlock()
	op.event(Event{Kind: res.Result, Flow: flow, Run: id, Message: res.Error})
	if err != nil {
		op.log("flow failed", zap.String("flow", flow), zap.String("run", id), zap.String("error", res.Error), zap.String("at", res.At))
	} else {
		op.log("flow succeeded", zap.String("flow", flow), zap.String("run", id), zap.Duration("took", ended.Sub(began)))
	}
}

func moduleOf(flow string) string {
	if m, _, ok := strings.Cut(flow, "."); ok {
		return m
	}
	return ""
}

// MarkHealthy implements builtin.Marker (operate.mark).
func (op *operation) MarkHealthy(module string, healthy bool) {
	op.metrics.healthy(module, healthy)
	op.mu.Lock()
	m := op.module(module)
	changed := m.Healthy == nil || *m.Healthy != healthy
	if changed {
		m.Healthy = &healthy
		m.Since = op.clock.Now()
	}
	op.mu.Unlock()
	if changed {
		kind := "healthy"
		if !healthy {
			kind = "unhealthy"
		}
		op.event(Event{Kind: kind, Module: module})
	}
}

// MarkFailover implements builtin.Marker (operate.mark).
func (op *operation) MarkFailover(module string) {
	op.metrics.failover(module)
	op.mu.Lock()
	m := op.module(module)
	m.Failovers++
	m.LastFailover = op.clock.Now()
	op.mu.Unlock()
	op.event(Event{Kind: "failover", Module: module})
}

func (op *operation) module(name string) *moduleStatus {
	m := op.modules[name]
	if m == nil {
		m = &moduleStatus{}
		op.modules[name] = m
	}
	return m
}

// stepHooks keep the statement a run is at, for /status.
type stepHooks struct {
	op  *operation
	run *runningRun
}

func (h *stepHooks) Before(ev *runtime.Event) error {
	step := ev.Span.Start.String()
	if n := len(ev.Stack); n > 0 {
		step = ev.Stack[n-1].Name + " " + step
	}
	h.op.mu.Lock()
	h.run.Step = step
	h.op.mu.Unlock()
	h.op.changes.bump()
	return nil
}

func (h *stepHooks) OnError(*runtime.Event, error) runtime.Decision { return runtime.Fail }

// retain removes the journals the retentions select: succeeded operated
// runs by r, every other succeeded run by the engine's run retention. A
// failure is logged; the loop goes on.
func (op *operation) retain(r OperatedRetention) {
	e := op.e
	if e.cfg.noJournal {
		return
	}
	e.retain(op.store)
	if r.Age <= 0 {
		return
	}
	gone, err := runtime.PruneRunsIn(op.store, runtime.PruneOptions{OlderThan: r.Age, KeepPerFlow: r.Keep, Operated: true, Now: e.now()})
	if err != nil {
		op.log("operated runs were not all removed (retention)", zap.Error(err))
	}
	if len(gone) > 0 {
		op.log("removed old succeeded operated runs (retention)", zap.Int("runs", len(gone)), zap.Duration("older_than", r.Age), zap.Int("kept_per_flow", r.Keep))
	}
}

// resumeInterrupted resumes, oldest first, the runs an operator of the
// same file started and that were interrupted (the process killed): the
// run goes on from its journal, finished statements skipped.
func (op *operation) resumeInterrupted(ctx context.Context) {
	infos, err := runtime.ListRunsIn(op.store, op.clock.Now())
	if err != nil {
		return
	}
	infos = op.e.awaitStaleLocks(op.store, infos, func(info runtime.RunInfo) bool {
		return info.Trigger != "" && info.File == op.file && info.Holder != ""
	}, ctx.Done())
	sort.Slice(infos, func(i, j int) bool { return infos[i].Started.Before(infos[j].Started) })
	for _, info := range infos {
		if ctx.Err() != nil {
			return
		}
		if info.Status != runtime.RunInterrupted || info.Trigger == "" || info.File != op.file {
			continue
		}
		flow := strings.Join(info.Flows, ",")
		res, err := op.e.OpenResume(info.ID)
		if err != nil {
			op.event(Event{Kind: "error", Flow: flow, Run: info.ID, Message: "cannot resume: " + err.Error()})
			op.log("cannot resume an interrupted run", zap.String("run", info.ID), zap.Error(err))
			continue
		}
		prog := res.Engine.Load(res.State.Header.File)
		run, err := res.Resume(prog)
		if err != nil {
			op.event(Event{Kind: "error", Flow: flow, Run: info.ID, Message: "cannot resume: " + err.Error()})
			continue
		}
		op.event(Event{Kind: "resumed", Flow: flow, Run: info.ID, Message: info.Trigger})
		op.log("resuming an interrupted run", zap.String("run", info.ID), zap.String("flow", flow))
		err = op.start(ctx, run, flow, info.Trigger+" (resumed)", false)
		if len(info.Flows) == 1 {
			// A resumed run that fails is handled like the run it goes on.
			op.onFailure(ctx, op.trigger[flow], flow, err, "run "+info.ID+" was interrupted (its operator stopped or was killed) and resumed by the next operator")
		}
	}
}
