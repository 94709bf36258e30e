package clusterstate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/stdlib"
	"github.com/gxl-dev/gxl/system/clusterstate"
)

var (
	kubeOnce sync.Once
	kube     *devstack.Kube
	kubeErr  error
	kubeCfg  *rest.Config
)

// TestMain stops the API server the tests started.
func TestMain(m *testing.M) {
	code := m.Run()
	if kube != nil {
		kube.Cleanup()
	}
	os.Exit(code)
}

// apiServer starts one real kube-apiserver (etcd and the API server
// only) for the package, and a namespace of the test's own.
func apiServer(t *testing.T) (*rest.Config, kubernetes.Interface, string) {
	t.Helper()
	kubeOnce.Do(func() {
		kube, kubeErr = devstack.StartKube(context.Background(), "", devstack.KubeOptions{APIOnly: true})
		if kubeErr == nil {
			kubeCfg, kubeErr = clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
		}
	})
	if kubeErr != nil {
		t.Fatalf("Kubernetes: %v", kubeErr)
	}
	cs := kubernetes.NewForConfigOrDie(kubeCfg)
	ns := strings.ToLower(strings.ReplaceAll(t.Name(), "_", "-"))
	if len(ns) > 50 {
		ns = ns[:50]
	}
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return kubeCfg, cs, ns
}

func newStore(t *testing.T, cfg clusterstate.Config) *clusterstate.Store {
	t.Helper()
	s, err := clusterstate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func configMaps(t *testing.T, cs kubernetes.Interface, ns string) []corev1.ConfigMap {
	t.Helper()
	l, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: clusterstate.LabelManaged + "=gxl"})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func dataSize(cm corev1.ConfigMap) int {
	n := 0
	for k, v := range cm.Data {
		n += len(k) + len(v)
	}
	return n
}

// A run whose journal would exceed 1 MiB uncompacted is compacted (the
// superseded records go) and what stays is split across objects each well
// under the API server's 1 MiB limit; read back, it is the whole journal.
func TestBigRunIsCompactedAndSplit(t *testing.T) {
	rc, cs, ns := apiServer(t)
	s := newStore(t, clusterstate.Config{Rest: rc, Namespace: ns})
	j, err := runtime.CreateJournalIn(s, runtime.Header{File: "/w.gxl", Flows: []string{"f"}})
	if err != nil {
		t.Fatal(err)
	}
	long := "/" + strings.Repeat("p", 100000)
	written := 0
	// 14 versions of one file: one live record, 1.4 MB uncompacted.
	for i := range 14 {
		j.Loaded(map[string][]byte{long + "/again": []byte(fmt.Sprint(i))})
		written += 100100
	}
	// 14 different files: 1.4 MB that all stay.
	for i := range 14 {
		j.Loaded(map[string][]byte{fmt.Sprintf("%s/%04d", long, i): []byte("x")})
		written += 100100
	}
	j.Exit(nil)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	cms := configMaps(t, cs, ns)
	total, chunks := 0, 0
	for _, cm := range cms {
		if n := dataSize(cm); n > clusterstate.DefaultChunkSize+64<<10 {
			t.Errorf("%s holds %d bytes", cm.Name, n)
		}
		if cm.Labels[clusterstate.LabelPart] == "chunk" {
			chunks++
			total += len(cm.Data["journal"])
		}
		if cm.Labels[clusterstate.LabelPart] == "head" {
			total += len(cm.Data["journal"])
		}
	}
	if chunks < 2 {
		t.Errorf("%d chunk objects: the journal was not split", chunks)
	}
	if total >= written*3/4 {
		t.Errorf("%d bytes kept of %d written: not compacted", total, written)
	}
	rs, err := runtime.ReadJournalIn(s, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rs.Changed()); got != 15 {
		t.Errorf("the journal read back has %d files, want 15", got)
	}
	infos, err := runtime.ListRunsIn(s, time.Now())
	if err != nil || len(infos) != 1 || infos[0].Status != runtime.RunSucceeded {
		t.Fatalf("runs: %+v %v", infos, err)
	}
	// Removal takes every object of the run, chunks included.
	if err := s.Remove(j.ID); err != nil {
		t.Fatal(err)
	}
	if left := configMaps(t, cs, ns); len(left) != 0 {
		t.Errorf("%d objects left after the removal", len(left))
	}
}

// The lock: a run another gxl renews is running; one it stopped renewing
// is taken over, and from then on every sync of the old writer fails (a
// fence), so it stops before its next effect. Of two gxl taking one free
// run at once, exactly one gets it.
func TestSecondWriterIsFenced(t *testing.T) {
	rc, _, ns := apiServer(t)
	// a: a writer that renews its lock every 20 min (as a gxl stopped
	// with SIGSTOP would not renew it at all); b judges locks by 1 s.
	a := newStore(t, clusterstate.Config{Rest: rc, Namespace: ns, Identity: "a", LockTTL: time.Hour})
	b := newStore(t, clusterstate.Config{Rest: rc, Namespace: ns, Identity: "b", LockTTL: time.Second})
	ja, err := runtime.CreateJournalIn(a, runtime.Header{File: "/w.gxl", Flows: []string{"f"}})
	if err != nil {
		t.Fatal(err)
	}
	var re *runtime.RunningError
	if _, err := runtime.OpenJournalIn(b, ja.ID); !errors.As(err, &re) || re.Holder != "a" {
		t.Fatalf("a run just written by a: %v", err)
	}
	if err := ja.Sync(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if info := runtime.ReadRunInfoIn(b, ja.ID, time.Now()); info.Status != runtime.RunInterrupted {
		t.Fatalf("a run whose lock went stale is %s", info.Status)
	}
	jb, err := runtime.OpenJournalIn(b, ja.ID)
	if err != nil {
		t.Fatalf("b cannot take the stale run: %v", err)
	}
	defer jb.Close()
	ja.Loaded(map[string][]byte{"/late": []byte("x")})
	if err := ja.Sync(); !errors.Is(err, clusterstate.ErrFenced) {
		t.Fatalf("the old writer's sync after the takeover: %v", err)
	}
	if err := ja.Sync(); !errors.Is(err, clusterstate.ErrFenced) {
		t.Fatalf("the old writer's second sync: %v", err)
	}
	ja.Close()
	rs, err := runtime.ReadJournalIn(b, ja.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rs.Changed() {
		if c.Path == "/late" {
			t.Fatal("the fenced writer's record reached the journal")
		}
	}

	// Two takers of one free run.
	c := newStore(t, clusterstate.Config{Rest: rc, Namespace: ns, Identity: "c"})
	jc, err := runtime.CreateJournalIn(c, runtime.Header{File: "/w.gxl", Flows: []string{"g"}})
	if err != nil {
		t.Fatal(err)
	}
	jc.Close()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, st := range []*clusterstate.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := runtime.OpenJournalIn(st, jc.ID)
			errs[i] = err
			if err == nil {
				t.Cleanup(func() { j.Close() })
			}
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("two takers of one run: %v, %v", errs[0], errs[1])
	}
}

// No secret is stored in clear: a run with a secret --set that echoes it
// and fails with it in the command leaves no object holding its value.
func TestNoSecretInTheCluster(t *testing.T) {
	rc, cs, ns := apiServer(t)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "w.gxl"), []byte(`mod main {
  flow f {
    gx.echo("token ${SEC_TOKEN}");
    gx.cmd("echo token=${SEC_TOKEN} > out.txt");
    gx.cmd("echo token=${SEC_TOKEN}; exit 3");
  }
}
`), 0o644)
	var out bytes.Buffer
	eng, err := engine.New(engine.WithDir(root), engine.WithJournal(root), engine.WithStdout(&out), engine.WithStderr(&out),
		engine.WithSecretsFile(filepath.Join(root, "none")), engine.WithSets(map[string]string{"SEC_TOKEN": "hunter2-c1uster"}),
		engine.WithClusterState(engine.ClusterState{Rest: rc, Namespace: ns}))
	if err != nil {
		t.Fatal(err)
	}
	p := eng.Load(filepath.Join(root, "w.gxl"))
	run, err := eng.NewRun(p, []string{"f"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Start(context.Background()); err == nil {
		t.Fatal("the run did not fail")
	}
	if b, _ := os.ReadFile(filepath.Join(root, "out.txt")); !strings.Contains(string(b), "hunter2-c1uster") {
		t.Fatalf("the command did not get the secret: %q", b)
	}
	if _, err := os.Stat(filepath.Join(root, ".gxl", "runs")); err == nil {
		t.Error("a run with --state cluster wrote .gxl/runs")
	}
	cms := configMaps(t, cs, ns)
	if len(cms) == 0 {
		t.Fatal("no object in the cluster")
	}
	for _, cm := range cms {
		for k, v := range cm.Data {
			if strings.Contains(v, "hunter2-c1uster") {
				t.Errorf("%s %s holds the secret", cm.Name, k)
			}
		}
		for k, v := range cm.Annotations {
			if strings.Contains(v, "hunter2-c1uster") {
				t.Errorf("%s annotation %s holds the secret", cm.Name, k)
			}
		}
	}
	d, err := eng.ShowRun("last")
	if err != nil || d.Status != runtime.RunFailed || len(d.Header.SecretSets) != 1 {
		t.Fatalf("the run read back: %+v %v", d, err)
	}
}

// A writer stopped right after the checks before an effect (SIGSTOP, a
// paused VM: its fence passed, its lease still looks held to it) and
// continued after another gxl took its run over does not act: the
// confirmation before the effect (runtime.Confirmer) is a write of the
// run at the version it read, which fails, and the run stops fenced
// before the effect, its journal abandoned.
func TestStoppedWriterDoesNotActAfterTakeover(t *testing.T) {
	rc, _, ns := apiServer(t)
	a := newStore(t, clusterstate.Config{Rest: rc, Namespace: ns, Identity: "a", LockTTL: time.Hour})
	b := newStore(t, clusterstate.Config{Rest: rc, Namespace: ns, Identity: "b", LockTTL: time.Second})
	dir := t.TempDir()
	w := filepath.Join(dir, "w.gxl")
	os.WriteFile(w, []byte(`mod main {
  flow all {
    gx.cmd("echo a >> effects.txt");
    gx.cmd("echo b >> effects.txt");
  }
}
`), 0o644)
	prog, ds := check.Load(w, check.Options{Registry: stdlib.Default()})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	j, err := runtime.CreateJournalIn(a, runtime.Header{File: w, Flows: []string{"all"}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var taken *runtime.Journal
	var out bytes.Buffer
	opt := runtime.Options{Dir: dir, Quiet: true, Stdout: &out, Stderr: &out, Journal: j, SecretsFile: filepath.Join(dir, "none"),
		Fence: func(context.Context) error {
			if e, _ := os.ReadFile(filepath.Join(dir, "effects.txt")); taken == nil && string(e) == "a\n" {
				// Stopped here, before the second command: a's lock goes
				// stale for b, which takes the run over.
				time.Sleep(1200 * time.Millisecond)
				jb, err := runtime.OpenJournalIn(b, j.ID)
				if err != nil {
					t.Errorf("b cannot take the stale run: %v", err)
					return nil
				}
				taken = jb
			}
			return nil // the lease still looks held to the stopped process
		}}
	err = runtime.New(prog, opt).Run(context.Background(), nil, []string{"all"})
	if taken == nil {
		t.Fatalf("the run was not taken over: %v\n%s", err, &out)
	}
	defer taken.Close()
	if !errors.Is(err, runtime.ErrFenced) || !errors.Is(err, clusterstate.ErrFenced) {
		t.Errorf("the run of the stopped writer returned %v, want a fence", err)
	}
	if e, _ := os.ReadFile(filepath.Join(dir, "effects.txt")); string(e) != "a\n" {
		t.Errorf("effects after the takeover: %q, want only the one before it", e)
	}
	rs, err := runtime.ReadJournalIn(b, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fs := rs.Finished(); len(fs) != 1 {
		t.Errorf("the journal has %d finished statements, want 1 (a's first command): %+v", len(fs), fs)
	}
}
