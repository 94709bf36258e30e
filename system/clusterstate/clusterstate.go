// Package clusterstate keeps run journals in a Kubernetes API server
// (`gxl operate --state cluster`): a runtime.RunStore of ConfigMaps, so a
// gxl on another machine resumes an interrupted run from its last
// finished statement.
//
// A run is a head ConfigMap, gxl-run-<id>, and, for a journal larger than
// one object should be, sealed chunk ConfigMaps gxl-run-<id>-<gen>-<n>
// written once each. The head holds the journal's tail (data.journal), its
// first record (data.first, the run header, for `gxl runs list`), how many
// chunks come before the tail and of which generation (a compaction writes
// a new generation, switches the head to it, and deletes the old one), and
// the run's lock: the owner annotation (the identity of the gxl writing
// the run) and when the owner last renewed it. Every write of the head
// carries the resourceVersion the writer read, so of two writers of one
// run only the first write succeeds: the other gets a conflict, and its
// journal fails every sync from then on — it stops before its next effect
// (a fence). A lock not renewed for LockTTL is free: its holder died.
package clusterstate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gxl-dev/gxl/runtime"
)

// Labels and annotations of the objects.
const (
	LabelManaged = "app.kubernetes.io/managed-by" // "gxl"
	LabelRun     = "gxl.dev/run"                  // the run id
	LabelPart    = "gxl.dev/part"                 // head, chunk, last
	LabelGen     = "gxl.dev/gen"                  // a chunk's generation
	annOwner     = "gxl.dev/owner"
	annRenewed   = "gxl.dev/renewed"
	annChunks    = "gxl.dev/chunks"
	annGen       = "gxl.dev/gen"
	// LastName is the ConfigMap naming the newest run.
	LastName = "gxl-runs-last"
)

// Defaults.
const (
	// DefaultLockTTL is how long a run's lock stays held without renewal:
	// the lease duration of gxl operate --ha, so a new leader finds the
	// runs of the one it replaced free.
	DefaultLockTTL = 15 * time.Second
	// DefaultChunkSize bounds the journal bytes of one object, well under
	// the API server's 1 MiB limit of a ConfigMap.
	DefaultChunkSize = 512 << 10
	// DefaultCompactMin: a journal is compacted while it runs once it
	// reaches 1 MiB (then each time it doubled).
	DefaultCompactMin = 1 << 20
)

// Config says where and as whom the store keeps journals.
type Config struct {
	// Namespace of the objects (default: the kubeconfig context's, in a
	// pod its own, else "default").
	Namespace string
	// Kubeconfig is a kubeconfig file (default: the standard rules of the
	// k8s built-ins: KUBECONFIG, ~/.kube/config, in a pod
	// rest.InClusterConfig).
	Kubeconfig string
	// Rest replaces the kubeconfig (tests, embedders).
	Rest *rest.Config
	// Identity names this gxl as a lock owner (default host/pid/random).
	Identity string
	// LockTTL (default DefaultLockTTL); the owner renews at a third of it.
	LockTTL time.Duration
	// ChunkSize (default DefaultChunkSize) and CompactMin
	// (DefaultCompactMin), in bytes.
	ChunkSize  int
	CompactMin int64
}

// Store is a runtime.RunStore in one namespace.
type Store struct {
	cms        typedcorev1.ConfigMapInterface
	ns, me     string
	ttl        time.Duration
	chunk      int
	compactMin int64
	server     string

	mu    sync.Mutex
	heads map[string]*corev1.ConfigMap // read by List, taken by Summary
}

var _ runtime.RunStore = (*Store)(nil)

// New connects to the API server of cfg.
func New(cfg Config) (*Store, error) {
	rc, ns := cfg.Rest, cfg.Namespace
	if rc == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = cfg.Kubeconfig
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
		var err error
		if rc, err = cc.ClientConfig(); err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		if ns == "" {
			ns, _, _ = cc.Namespace()
		}
	}
	if ns == "" {
		ns = "default"
	}
	rc = rest.CopyConfig(rc)
	rc.Timeout = 30 * time.Second
	rc.QPS, rc.Burst = 50, 300
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	s := &Store{cms: cs.CoreV1().ConfigMaps(ns), ns: ns, me: cfg.Identity, ttl: cfg.LockTTL, chunk: cfg.ChunkSize,
		compactMin: cfg.CompactMin, server: rc.Host, heads: map[string]*corev1.ConfigMap{}}
	if s.me == "" {
		host, _ := os.Hostname()
		s.me = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), runtime.NewRunID()[16:])
	}
	if s.ttl <= 0 {
		s.ttl = DefaultLockTTL
	}
	if s.chunk <= 0 {
		s.chunk = DefaultChunkSize
	}
	if s.compactMin <= 0 {
		s.compactMin = DefaultCompactMin
	}
	return s, nil
}

// Identity is the owner this store writes into the locks it takes.
func (s *Store) Identity() string { return s.me }

// Namespace is where the objects are.
func (s *Store) Namespace() string { return s.ns }

func headName(id string) string              { return "gxl-run-" + id }
func chunkName(id string, gen, n int) string { return fmt.Sprintf("gxl-run-%s-%d-%d", id, gen, n) }

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// Where implements runtime.RunStore.
func (s *Store) Where() string { return fmt.Sprintf("namespace %s of %s", s.ns, s.server) }

// Location implements runtime.RunStore.
func (s *Store) Location(id string) string { return "configmap/" + headName(id) + " -n " + s.ns }

// LockTTL implements runtime.RunStore.
func (s *Store) LockTTL() time.Duration { return s.ttl }

func labels(id, part string) map[string]string {
	return map[string]string{LabelManaged: "gxl", LabelRun: id, LabelPart: part}
}

// Create implements runtime.RunStore: the head, owned by this store.
func (s *Store) Create(id string) (runtime.RunLog, error) {
	c, cancel := ctx()
	defer cancel()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: headName(id), Labels: labels(id, "head"),
		Annotations: map[string]string{annOwner: s.me, annRenewed: s.stamp(), annChunks: "0", annGen: "0"}},
		Data: map[string]string{"journal": "", "first": ""}}
	got, err := s.cms.Create(c, cm, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	return s.open(id, got), nil
}

// Open implements runtime.RunStore: the lock is taken when it is free
// (no owner, or one that did not renew it for LockTTL) with a write of
// the head at the resourceVersion read, so of two takers one wins.
func (s *Store) Open(id string) (runtime.RunLog, error) {
	c, cancel := ctx()
	defer cancel()
	cm, err := s.cms.Get(c, headName(id), metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	if owner, held := s.held(cm); held && owner != s.me {
		return nil, &runtime.RunningError{ID: id, Holder: owner}
	}
	cm.Annotations[annOwner], cm.Annotations[annRenewed] = s.me, s.stamp()
	got, err := s.cms.Update(c, cm, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return nil, &runtime.RunningError{ID: id, Holder: "another gxl (it took the run first)"}
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	return s.open(id, got), nil
}

func (s *Store) stamp() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// held reads the lock of a head.
func (s *Store) held(cm *corev1.ConfigMap) (string, bool) {
	owner := cm.Annotations[annOwner]
	if owner == "" {
		return "", false
	}
	t, err := time.Parse(time.RFC3339Nano, cm.Annotations[annRenewed])
	if err != nil || time.Since(t) >= s.ttl {
		return "", false
	}
	return owner, true
}

func (s *Store) head(id string) (*corev1.ConfigMap, error) {
	s.mu.Lock()
	cm := s.heads[id]
	delete(s.heads, id)
	s.mu.Unlock()
	if cm != nil {
		return cm, nil
	}
	c, cancel := ctx()
	defer cancel()
	return s.cms.Get(c, headName(id), metav1.GetOptions{})
}

// Read implements runtime.RunStore: the chunks of the head's generation,
// then its tail.
func (s *Store) Read(id string) ([]byte, error) {
	c, cancel := ctx()
	defer cancel()
	cm, err := s.cms.Get(c, headName(id), metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	var b bytes.Buffer
	gen, n := count(cm, annGen), count(cm, annChunks)
	for i := range n {
		ch, err := s.cms.Get(c, chunkName(id, gen, i), metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("run %s: chunk %d: %w", id, i, err)
		}
		b.WriteString(ch.Data["journal"])
	}
	b.WriteString(cm.Data["journal"])
	return b.Bytes(), nil
}

func count(cm *corev1.ConfigMap, key string) int {
	n, _ := strconv.Atoi(cm.Annotations[key])
	return n
}

// Summary implements runtime.RunStore from the head alone.
func (s *Store) Summary(id string) (runtime.RunSummary, error) {
	cm, err := s.head(id)
	if err != nil {
		return runtime.RunSummary{}, err
	}
	tail := runtime.SummaryOf([]byte("\n" + cm.Data["journal"]))
	return runtime.RunSummary{First: []byte(cm.Data["first"]), Last: tail.Last, Torn: tail.Torn}, nil
}

// List implements runtime.RunStore: one list of the heads, kept for the
// Summary calls that follow.
func (s *Store) List() ([]string, error) {
	c, cancel := ctx()
	defer cancel()
	l, err := s.cms.List(c, metav1.ListOptions{LabelSelector: LabelManaged + "=gxl," + LabelPart + "=head"})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heads = map[string]*corev1.ConfigMap{}
	var ids []string
	for i := range l.Items {
		cm := &l.Items[i]
		id := cm.Labels[LabelRun]
		ids = append(ids, id)
		s.heads[id] = cm
	}
	return ids, nil
}

// Holder implements runtime.RunStore.
func (s *Store) Holder(id string) (string, bool) {
	c, cancel := ctx()
	defer cancel()
	cm, err := s.cms.Get(c, headName(id), metav1.GetOptions{})
	if err != nil {
		return "", false
	}
	return s.held(cm)
}

// Remove implements runtime.RunStore: the head goes at the
// resourceVersion read (a run taken since stays), then its chunks.
func (s *Store) Remove(id string) error {
	c, cancel := ctx()
	defer cancel()
	cm, err := s.cms.Get(c, headName(id), metav1.GetOptions{})
	if err != nil {
		return err
	}
	if owner, held := s.held(cm); held {
		return &runtime.RunningError{ID: id, Holder: owner}
	}
	rv := cm.ResourceVersion
	if err := s.cms.Delete(c, headName(id), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}}); err != nil {
		if apierrors.IsConflict(err) {
			return &runtime.RunningError{ID: id, Holder: "another gxl"}
		}
		return err
	}
	err = s.cms.DeleteCollection(c, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: LabelRun + "=" + id + "," + LabelPart + "=chunk"})
	if last, lerr := s.cms.Get(c, LastName, metav1.GetOptions{}); lerr == nil && last.Data["id"] == id {
		lrv := last.ResourceVersion
		s.cms.Delete(c, LastName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &lrv}})
	}
	return err
}

// SetLast implements runtime.RunStore.
func (s *Store) SetLast(id string) error {
	c, cancel := ctx()
	defer cancel()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: LastName, Labels: map[string]string{LabelManaged: "gxl", LabelPart: "last"}},
		Data: map[string]string{"id": id}}
	_, err := s.cms.Update(c, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = s.cms.Create(c, cm, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			_, err = s.cms.Update(c, cm, metav1.UpdateOptions{})
		}
	}
	return err
}

// Last implements runtime.RunStore.
func (s *Store) Last() (string, error) {
	c, cancel := ctx()
	defer cancel()
	cm, err := s.cms.Get(c, LastName, metav1.GetOptions{})
	if err != nil || cm.Data["id"] == "" {
		return "", &runtime.NoRunError{ID: "last", Dir: s.Where()}
	}
	if _, err := s.cms.Get(c, headName(cm.Data["id"]), metav1.GetOptions{}); err != nil {
		return "", &runtime.NoRunError{ID: "last", Dir: s.Where()}
	}
	return cm.Data["id"], nil
}

// ErrFenced is a write of a run that another gxl took over: the journal
// fails every sync, so the run stops before its next effect.
var ErrFenced = errors.New("another gxl took this run over (its object changed under this writer): stopping before the next effect")

// runLog is an open run: the head as last written, the records written
// since (pending), and the renewal of the lock.
type runLog struct {
	s    *Store
	id   string
	mu   sync.Mutex
	head *corev1.ConfigMap
	// pending are the records written and not yet in the API server.
	pending []byte
	// stored is the size of the sealed chunks.
	stored  int64
	err     error // sticky: fenced, or closed
	stop    chan struct{}
	closing sync.Once
	done    chan struct{}
}

func (s *Store) open(id string, head *corev1.ConfigMap) *runLog {
	l := &runLog{s: s, id: id, head: head, stop: make(chan struct{}), done: make(chan struct{})}
	if count(head, annChunks) > 0 {
		// The sizes of the sealed chunks are not in the head; Size
		// counts them once the journal is read (compaction, resume).
		if b, err := s.Read(id); err == nil {
			l.stored = int64(len(b) - len(head.Data["journal"]))
		}
	}
	go l.renew()
	return l
}

// renew keeps the lock: every third of LockTTL the head's renewal time
// is written (at its resourceVersion: a conflict is a fence).
func (l *runLog) renew() {
	defer close(l.done)
	t := time.NewTicker(l.s.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if l.err == nil {
				h := l.head.DeepCopy()
				h.Annotations[annRenewed] = l.s.stamp()
				l.update(h)
			}
			l.mu.Unlock()
		}
	}
}

// update writes the head (the lock held): on a conflict the log is
// fenced for good.
func (l *runLog) update(h *corev1.ConfigMap) error {
	c, cancel := ctx()
	defer cancel()
	got, err := l.s.cms.Update(c, h, metav1.UpdateOptions{})
	switch {
	case apierrors.IsConflict(err):
		l.err = fmt.Errorf("run %s: %w", l.id, ErrFenced)
		return l.err
	case err != nil:
		return fmt.Errorf("run %s: %w", l.id, err)
	}
	l.head = got
	return nil
}

func (l *runLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	l.pending = append(l.pending, p...)
	return len(p), nil
}

// Sync writes the pending records: appended to the head's tail, and when
// the tail would outgrow ChunkSize, the front of it sealed into chunks
// first (created before the head counts them).
func (l *runLog) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.syncLocked(false)
}

// Confirm implements runtime.Confirmer: the pending records and a renewal
// of the lock, written to the head at the resourceVersion last written
// whether or not records are pending — it fails once another gxl took
// the run over (ErrFenced). sent is taken before the renewal's time
// stamp, so a taker (who waits LockTTL after that stamp) takes the run
// at least LockTTL after sent.
func (l *runLog) Confirm() (time.Time, error) {
	sent := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return sent, l.syncLocked(true)
}

// syncLocked writes the pending records, or (always) a renewal.
func (l *runLog) syncLocked(always bool) error {
	if l.err != nil {
		return l.err
	}
	if len(l.pending) == 0 && !always {
		return nil
	}
	h := l.head.DeepCopy()
	tail := h.Data["journal"] + string(l.pending)
	if h.Data["first"] == "" && count(h, annChunks) == 0 {
		first, _, _ := strings.Cut(tail, "\n")
		h.Data["first"] = first + "\n"
	}
	gen, n := count(h, annGen), count(h, annChunks)
	pieces := split(tail, l.s.chunk)
	for _, p := range pieces[:len(pieces)-1] {
		if err := l.putChunk(gen, n, p); err != nil {
			return err
		}
		l.stored += int64(len(p))
		n++
	}
	h.Annotations[annChunks] = strconv.Itoa(n)
	h.Data["journal"] = pieces[len(pieces)-1]
	h.Annotations[annRenewed] = l.s.stamp()
	if err := l.update(h); err != nil {
		return err
	}
	l.pending = nil
	return nil
}

// putChunk writes a sealed chunk; one left by a writer that failed before
// its head counted it is replaced.
func (l *runLog) putChunk(gen, n int, data string) error {
	c, cancel := ctx()
	defer cancel()
	lb := labels(l.id, "chunk")
	lb[LabelGen] = strconv.Itoa(gen)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: chunkName(l.id, gen, n), Labels: lb}, Data: map[string]string{"journal": data}}
	_, err := l.s.cms.Create(c, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = l.s.cms.Update(c, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("run %s: chunk %d: %w", l.id, n, err)
	}
	return nil
}

// split cuts s into pieces of at most max bytes at line ends (a line
// longer than max is a piece of its own); the last piece may be empty.
func split(s string, max int) []string {
	var out []string
	for len(s) > max {
		i := strings.LastIndexByte(s[:max], '\n')
		if i < 0 {
			i = strings.IndexByte(s, '\n')
			if i < 0 {
				break
			}
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return append(out, s)
}

// Replace writes p as a new generation of chunks and tail, switches the
// head to it, then deletes the chunks of the old generation.
func (l *runLog) Replace(p []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	h := l.head.DeepCopy()
	old, gen := count(h, annGen), count(h, annGen)+1
	pieces := split(string(p), l.s.chunk)
	var stored int64
	for i, piece := range pieces[:len(pieces)-1] {
		if err := l.putChunk(gen, i, piece); err != nil {
			return err
		}
		stored += int64(len(piece))
	}
	h.Annotations[annGen], h.Annotations[annChunks] = strconv.Itoa(gen), strconv.Itoa(len(pieces)-1)
	h.Data["journal"] = pieces[len(pieces)-1]
	if err := l.update(h); err != nil {
		return err
	}
	l.stored = stored
	c, cancel := ctx()
	defer cancel()
	l.s.cms.DeleteCollection(c, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: LabelRun + "=" + l.id + "," + LabelPart + "=chunk," + LabelGen + "=" + strconv.Itoa(old)})
	return nil
}

func (l *runLog) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stored + int64(len(l.head.Data["journal"])+len(l.pending))
}

func (l *runLog) CompactMin() int64 { return l.s.compactMin }
func (l *runLog) Path() string      { return l.s.Location(l.id) }

// Close syncs and gives the lock up (the owner annotation cleared).
func (l *runLog) Close() error {
	err := l.Sync()
	l.closing.Do(func() { close(l.stop) })
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		h := l.head.DeepCopy()
		h.Annotations[annOwner] = ""
		if uerr := l.update(h); err == nil {
			err = uerr
		}
		l.err = errors.New("the journal is closed")
	}
	return err
}
