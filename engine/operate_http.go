package engine

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the operator's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg         *prometheus.Registry
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	failovers   *prometheus.CounterVec
	healthyG    *prometheus.GaugeVec
}

func newMetrics(flows []string) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gxl_flow_runs_total",
			Help: "Runs of flows started by gxl operate, by flow and result (succeeded, failed)."}, []string{"flow", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gxl_flow_duration_seconds",
			Help:    "How long runs of flows took, by flow.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}}, []string{"flow"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gxl_last_success_timestamp_seconds",
			Help: "When the last successful run of a flow ended (Unix seconds)."}, []string{"flow"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gxl_failovers_total",
			Help: "Failovers reported by flows with operate.mark(module, failover: true), by module."}, []string{"module"}),
		healthyG: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gxl_module_healthy",
			Help: "1 when the last operate.mark(module, healthy: ...) said healthy, 0 when not."}, []string{"module"}),
	}
	m.reg.MustRegister(m.runs, m.duration, m.lastSuccess, m.failovers, m.healthyG,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, f := range flows {
		m.runs.WithLabelValues(f, "succeeded")
		m.runs.WithLabelValues(f, "failed")
	}
	return m
}

func (m *metrics) observe(flow string, r *RunResult) {
	m.runs.WithLabelValues(flow, r.Result).Inc()
	m.duration.WithLabelValues(flow).Observe(r.Duration)
	if r.Result == "succeeded" {
		m.lastSuccess.WithLabelValues(flow).Set(float64(r.Ended.UnixNano()) / 1e9)
	}
}

func (m *metrics) healthy(module string, ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	m.healthyG.WithLabelValues(module).Set(v)
}

func (m *metrics) failover(module string) { m.failovers.WithLabelValues(module).Inc() }

// Status is what GET /status returns.
type Status struct {
	State    string                  `json:"state"` // resuming, running, stopped
	File     string                  `json:"file"`
	Started  time.Time               `json:"started"`
	Now      time.Time               `json:"now"`
	TimeZone string                  `json:"time_zone"`
	Flows    []flowStatus            `json:"flows"`
	Running  []runningRun            `json:"running"`
	Modules  map[string]moduleStatus `json:"modules"`
	Events   []Event                 `json:"events"`
	// Leader is the leader of an operator started with --ha; absent for a
	// single operator.
	Leader *LeaderStatus `json:"leader,omitempty"`
}

func (op *operation) status() Status {
	op.mu.Lock()
	defer op.mu.Unlock()
	s := Status{State: op.state, File: op.file, Started: op.started, Now: op.clock.Now(), TimeZone: op.e.TimeZone().String(),
		Flows: []flowStatus{}, Running: []runningRun{}, Modules: map[string]moduleStatus{}, Events: append([]Event{}, op.recentEvents()...)}
	for _, name := range op.order {
		fs := *op.flows[name]
		if fs.Last != nil {
			last := *fs.Last
			fs.Last = &last
		}
		s.Flows = append(s.Flows, fs)
	}
	for _, r := range op.running {
		s.Running = append(s.Running, *r)
	}
	for k, m := range op.modules {
		s.Modules[k] = *m
	}
	if op.leader != nil {
		l := *op.leader
		s.Leader = &l
	}
	return s
}

// handler serves /healthz, /status, /metrics and the status page (/,
// /events: operate_page.go).
func (op *operation) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		state := op.state
		op.mu.Unlock()
		if state != "running" && state != "following" {
			http.Error(w, state, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(op.status())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(op.metrics.reg, promhttp.HandlerOpts{}))
	op.pageRoutes(mux)
	return mux
}
