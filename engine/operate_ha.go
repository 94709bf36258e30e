package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/gxl-dev/gxl/runtime"
)

// HA configures gxl operate --ha: several replicas operate the same
// program, and only the one holding a coordination.k8s.io Lease acts
// (client-go's leader election). Every replica loads and checks the
// program and serves its endpoints; the leader resumes the interrupted
// runs, fires the triggers and runs the flows, and confirms before each
// effect that it still holds the lease (runtime.Options.Fence).
type HA struct {
	// Lease is NAMESPACE/NAME of the Lease; "" is DefaultLease.
	Lease string
	// Identity is this replica's name in the Lease; "" is
	// DefaultIdentity (hostname and pid).
	Identity string
	// LeaseDuration is how long followers wait after the last renewal
	// they saw before they take the lease over; RenewDeadline how long
	// the leader tries to renew before it stops acting; RetryPeriod how
	// often every replica tries.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Kubeconfig is the kubeconfig file; "" is the one the k8s built-ins
	// use (the KUBECONFIG variable or environment variable, else
	// ~/.kube/config), or the pod's service account (rest.InClusterConfig)
	// when running in a pod without one.
	Kubeconfig string
}

// DefaultHA are controller-runtime's durations: a lease of 15 s, renewed
// within 10 s, tried every 2 s.
var DefaultHA = HA{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}

// WithHA makes Operate act only while it holds the lease of h (gxl
// operate --ha). Check h first (HA.Check): Operate returns its error.
func WithHA(h HA) OperateOption { return func(c *operateConfig) { c.ha = &h } }

// HAError is a bad --ha setting.
type HAError struct {
	Flag, Msg, Hint string
}

func (e *HAError) Error() string {
	s := e.Flag + ": " + e.Msg
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

// Check reports the first bad setting of h: a lease that is not
// NAMESPACE/NAME, durations that are not positive, a renew deadline that
// is not shorter than the lease, a retry period too long for the renew
// deadline (client-go wants RenewDeadline > 1.2 × RetryPeriod).
func (h HA) Check() error {
	if h.Lease != "" {
		if _, _, err := ParseLease(h.Lease); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--lease-duration", h.LeaseDuration}, {"--renew-deadline", h.RenewDeadline}, {"--retry-period", h.RetryPeriod}} {
		if d.v <= 0 {
			return &HAError{Flag: d.flag, Msg: fmt.Sprintf("%s is not a positive duration", d.v), Hint: "write a duration such as 15s, 10s, 2s"}
		}
	}
	if h.LeaseDuration < time.Second {
		return &HAError{Flag: "--lease-duration", Msg: fmt.Sprintf("%s is shorter than a second (a Lease counts whole seconds)", h.LeaseDuration), Hint: "use 1s or more; 15s is the default"}
	}
	if h.RenewDeadline >= h.LeaseDuration {
		return &HAError{Flag: "--renew-deadline", Msg: fmt.Sprintf("%s is not shorter than --lease-duration %s", h.RenewDeadline, h.LeaseDuration),
			Hint: "the leader must stop acting before the others may take over: e.g. --lease-duration 15s --renew-deadline 10s"}
	}
	if float64(h.RenewDeadline) <= leaderelection.JitterFactor*float64(h.RetryPeriod) {
		return &HAError{Flag: "--retry-period", Msg: fmt.Sprintf("%s is too long for --renew-deadline %s", h.RetryPeriod, h.RenewDeadline),
			Hint: fmt.Sprintf("the renew deadline must exceed %.1f × the retry period: e.g. --renew-deadline 10s --retry-period 2s", leaderelection.JitterFactor)}
	}
	if h.Identity != "" && strings.TrimSpace(h.Identity) != h.Identity {
		return &HAError{Flag: "--identity", Msg: fmt.Sprintf("%q has leading or trailing spaces", h.Identity)}
	}
	return nil
}

// ParseLease splits NAMESPACE/NAME, both Kubernetes names.
func ParseLease(s string) (ns, name string, err error) {
	ns, name, ok := strings.Cut(s, "/")
	bad := func(msg string) error {
		return &HAError{Flag: "--lease", Msg: fmt.Sprintf("%q: %s", s, msg), Hint: "write NAMESPACE/NAME, e.g. --lease default/gxl-operator-shop"}
	}
	switch {
	case !ok || strings.Contains(name, "/"):
		return "", "", bad("not NAMESPACE/NAME")
	case len(validation.IsDNS1123Label(ns)) > 0:
		return "", "", bad("the namespace " + strings.Join(validation.IsDNS1123Label(ns), "; "))
	case len(validation.IsDNS1123Subdomain(name)) > 0:
		return "", "", bad("the name " + strings.Join(validation.IsDNS1123Subdomain(name), "; "))
	}
	return ns, name, nil
}

// DefaultLease is the lease of p's operators: in the system's namespace
// (its NAMESPACE variable, --set applied), else default, named
// gxl-operator-<system name> (SYS_NAME; for a workflow outside a system,
// its file name).
func (e *Engine) DefaultLease(p *Program) string {
	str := func(name string) string {
		if v, ok := e.cfg.sets[name]; ok {
			return v
		}
		if v, ok := p.Vars[name]; ok {
			return v.String()
		}
		return ""
	}
	ns := kubeName(str("NAMESPACE"))
	if ns == "" {
		ns = "default"
	}
	name := kubeName(str("SYS_NAME"))
	if name == "" {
		name = kubeName(strings.TrimSuffix(filepath.Base(p.File), filepath.Ext(p.File)))
	}
	return ns + "/gxl-operator-" + name
}

var notName = regexp.MustCompile(`[^a-z0-9-]+`)

// kubeName makes s a DNS label: lower case, other characters as '-'.
func kubeName(s string) string {
	s = strings.Trim(notName.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	return s
}

// DefaultIdentity is hostname_pid: unique among replicas on one machine
// and across pods (a pod's hostname is its name).
func DefaultIdentity() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "gxl"
	}
	return fmt.Sprintf("%s_%d", h, os.Getpid())
}

// election is the leader election of one Operate with --ha.
type election struct {
	op        *operation
	h         HA
	lease     string // NAMESPACE/NAME
	ns        string // the lease's namespace
	rest      *rest.Config
	lock      resourcelock.Interface
	lostLease error

	pubMu sync.Mutex // publish
	mu    sync.Mutex
	le    *leaderelection.LeaderElector // this term's
	// leading: this replica acts (between the start of its term and the
	// step down); the fence refuses otherwise.
	leading  bool
	leader   string // the last leader seen
	since    time.Time
	down     chan struct{} // closed to end the leader's term (stepDown)
	downOnce *sync.Once
}

// newElection prepares the election of op: the lease, the identity, the
// client of the API server.
func newElection(op *operation, h HA) (*election, error) {
	if err := h.Check(); err != nil {
		return nil, err
	}
	if h.Lease == "" {
		h.Lease = op.e.DefaultLease(op.p)
	}
	if h.Identity == "" {
		h.Identity = DefaultIdentity()
	}
	ns, name, err := ParseLease(h.Lease)
	if err != nil {
		return nil, err
	}
	cfg, err := haRestConfig(h.Kubeconfig, op.p)
	if err != nil {
		return nil, err
	}
	// A request never outlasts half the renew deadline: a stopped API
	// server must not hold the leader past it.
	cfg.Timeout = h.RenewDeadline / 2
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("the API server of the lease: %w", err)
	}
	el := &election{op: op, h: h, lease: ns + "/" + name, ns: ns, rest: rest.CopyConfig(cfg),
		lock: &resourcelock.LeaseLock{LeaseMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Client: cs.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: h.Identity}}}
	el.lostLease = fmt.Errorf("this replica (%s) no longer holds the lease %s", h.Identity, el.lease)
	el.publish() // /status has a leader field from the start, empty until one is seen
	return el, nil
}

// haRestConfig is the client configuration of the lease: the kubeconfig
// the k8s built-ins use (explicit, the KUBECONFIG variable of the
// system, the KUBECONFIG environment variable, ~/.kube/config), or the
// pod's service account when running in a pod without one.
func haRestConfig(kubeconfig string, p *Program) (*rest.Config, error) {
	if kubeconfig == "" {
		if v, ok := p.Vars["KUBECONFIG"]; ok {
			kubeconfig = v.String()
		}
	}
	if kubeconfig == "" && os.Getenv("KUBECONFIG") == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster configuration: %w", err)
		}
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of the lease: %w", err)
	}
	return cfg, nil
}

// operateHA takes part in the election until ctx ends: a follower waits
// (its endpoints serve, /healthz healthy); the leader acts (operation.act)
// until it loses the lease or steps down, then takes part again.
func (op *operation) operateHA(ctx context.Context, cfg operateConfig) error {
	el := op.ha
	op.log("operator in HA mode", zap.String("lease", el.lease), zap.String("identity", el.h.Identity),
		zap.Duration("lease_duration", el.h.LeaseDuration), zap.Duration("renew_deadline", el.h.RenewDeadline), zap.Duration("retry_period", el.h.RetryPeriod))
	for ctx.Err() == nil {
		if err := el.term(ctx, cfg); err != nil {
			return err
		}
	}
	return nil
}

// term runs one elector: it follows until it leads, then acts until the
// lease is lost, the leader steps down (a refused fence) or ctx ends;
// then it releases the lease if it still holds it.
func (el *election) term(ctx context.Context, cfg operateConfig) error {
	el.op.setState("following")
	leading := make(chan context.Context, 1)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: el.lock, Name: el.lease, ReleaseOnCancel: true,
		LeaseDuration: el.h.LeaseDuration, RenewDeadline: el.h.RenewDeadline, RetryPeriod: el.h.RetryPeriod,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) { leading <- lctx },
			OnStoppedLeading: func() {},
			OnNewLeader:      el.newLeader,
		},
	})
	if err != nil {
		return &HAError{Flag: "--ha", Msg: err.Error()}
	}
	el.mu.Lock()
	el.le = le
	el.mu.Unlock()
	elctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		le.Run(elctx)
	}()
	select {
	case <-ctx.Done():
	case <-ran:
	case lctx := <-leading:
		el.lead(ctx, lctx, cfg)
	}
	// Release the lease (ReleaseOnCancel) once nothing of this term runs.
	stop()
	<-ran
	el.mu.Lock()
	el.le = nil
	if el.leader == el.h.Identity {
		el.leader = "" // until the next renewal seen
	}
	el.mu.Unlock()
	el.publish()
	if ctx.Err() == nil {
		// After a lost lease, one retry period before trying again.
		select {
		case <-ctx.Done():
		case <-time.After(el.h.RetryPeriod):
		}
	}
	return nil
}

// lead acts while this replica holds the lease. SIGINT/SIGTERM (ctx)
// stop the runs as without --ha — their undo runs, still under the
// lease, which is released after. A lost lease (lctx) or a refused fence
// (stepDown) stops them at once: their journals are abandoned first, so
// they stay interrupted for the next leader to resume.
func (el *election) lead(ctx, lctx context.Context, cfg operateConfig) {
	op := el.op
	el.mu.Lock()
	el.leading = true
	el.leader, el.since = el.h.Identity, op.clock.Now()
	el.down, el.downOnce = make(chan struct{}), &sync.Once{}
	down := el.down
	el.mu.Unlock()
	el.publish()
	op.event(Event{Kind: "leading", Message: el.h.Identity + " holds the lease " + el.lease})
	op.log("leading", zap.String("lease", el.lease), zap.String("identity", el.h.Identity))
	actx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	ended := make(chan struct{})
	defer close(ended)
	go func() {
		select {
		case <-ctx.Done():
			cancel(context.Cause(ctx))
		case <-lctx.Done():
			el.stopActing()
			cancel(&runtime.FencedError{Err: el.lostLease})
		case <-down:
			el.stopActing()
			cancel(&runtime.FencedError{Err: el.lostLease})
		case <-ended:
		}
	}()
	op.act(actx, cfg)
	el.stopActing()
	op.event(Event{Kind: "following", Message: el.h.Identity + " stopped leading"})
	op.log("stopped leading", zap.String("lease", el.lease), zap.String("identity", el.h.Identity))
}

// stopActing makes the fence refuse and abandons the journals of the runs
// running: whatever they do from now on is not recorded, and no effect
// passes the fence.
func (el *election) stopActing() {
	el.mu.Lock()
	el.leading = false
	el.mu.Unlock()
	el.publish()
	el.op.abandonRunning()
}

// stepDown ends the leader's term (a fence that refused).
func (el *election) stepDown() {
	el.mu.Lock()
	once, down := el.downOnce, el.down
	el.mu.Unlock()
	if once != nil {
		once.Do(func() { close(down) })
	}
}

// fence is runtime.Options.Fence under --ha: an effect passes while this
// replica leads, the elector saw itself as the holder, and it renewed the
// lease within the renew deadline — a check of local state, no request.
// A refusal also ends the leader's term.
func (el *election) fence(context.Context) error {
	if el == nil {
		return nil
	}
	el.mu.Lock()
	le, leading := el.le, el.leading
	el.mu.Unlock()
	var err error
	switch {
	case !leading || le == nil:
		err = fmt.Errorf("this replica (%s) is not the leader of %s", el.h.Identity, el.lease)
	case !le.IsLeader():
		err = fmt.Errorf("the lease %s is held by %s", el.lease, le.GetLeader())
	case le.Check(el.h.RenewDeadline-el.h.LeaseDuration) != nil:
		err = fmt.Errorf("this replica (%s) did not renew the lease %s within %s", el.h.Identity, el.lease, el.h.RenewDeadline)
	}
	if err == nil {
		return nil
	}
	el.stepDown()
	return &runtime.FencedError{Err: err}
}

func (el *election) newLeader(id string) {
	el.mu.Lock()
	changed := id != el.leader
	if changed {
		el.leader, el.since = id, el.op.clock.Now()
	}
	el.mu.Unlock()
	el.publish()
	if changed && id != "" {
		el.op.log("new leader", zap.String("lease", el.lease), zap.String("leader", id))
	}
}

// publish hands the election's view of the leader to the operator's
// status (operation.setLeader: /status, the page, a "leader" event when
// the leader changed).
func (el *election) publish() {
	// One at a time, each reading the state when it runs: the last one
	// reads the state after the last change.
	el.pubMu.Lock()
	defer el.pubMu.Unlock()
	if l := el.status(); l != nil {
		el.op.setLeader(*l)
	}
}

// status is /status's leader; nil without --ha.
func (el *election) status() *LeaderStatus {
	if el == nil {
		return nil
	}
	el.mu.Lock()
	defer el.mu.Unlock()
	return &LeaderStatus{Identity: el.leader, Self: el.leading && el.leader == el.h.Identity, Since: el.since}
}

// fenced records a run stopped by the fence: interrupted, for the next
// leader to resume.
func (op *operation) fenced(flow, id string, err error) {
	op.event(Event{Kind: "fenced", Flow: flow, Run: id, Message: err.Error()})
	op.log("run stopped before an effect: this replica no longer leads", zap.String("flow", flow), zap.String("run", id), zap.String("error", err.Error()))
}
