package k8s_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/stdlib/k8s"
)

// freezer is a TCP proxy to the API server whose open connections can be
// frozen: they forward nothing more either way while both of their
// sockets stay open (no FIN, no RST), what a partition, a dropped NAT
// entry or a frozen host look like to the client. Connections opened
// after a freeze pass (the NAT entry of a new connection, say).
type freezer struct {
	ln     net.Listener
	target string
	done   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  []net.Conn
	frozen chan struct{} // closed by freeze: the connections opened before forward nothing more
}

// startFreezer starts a proxy to kube's API server; it ends with the test.
func startFreezer(t *testing.T) *freezer {
	t.Helper()
	u, err := url.Parse(kube.Server)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: u.Host, done: make(chan struct{}), frozen: make(chan struct{})}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *freezer) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, c, s)
		frozen := f.frozen
		f.mu.Unlock()
		f.wg.Add(2)
		go f.pipe(s, c, frozen)
		go f.pipe(c, s, frozen)
	}
}

// pipe copies src to dst until either ends or frozen is closed; frozen,
// it reads nothing more and closes nothing until the proxy ends.
func (f *freezer) pipe(dst, src net.Conn, frozen chan struct{}) {
	defer f.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-frozen:
			<-f.done
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			src.Close()
			dst.Close()
			return
		}
	}
}

// freeze cuts the connections open now, silently.
func (f *freezer) freeze() {
	f.mu.Lock()
	close(f.frozen)
	f.frozen = make(chan struct{})
	f.mu.Unlock()
}

func (f *freezer) close() {
	close(f.done)
	f.ln.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// kubeconfig writes the devstack's admin kubeconfig with the proxy as
// the server (the API server's certificate names 127.0.0.1, whatever
// the port): its cluster is a connection of its own in the process.
func (f *freezer) kubeconfig(t *testing.T) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.Server = "https://" + f.ln.Addr().String()
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// admin is a client straight to the API server (another client).
func admin(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// applyService creates or re-points the ExternalName Service ns/name
// (and its namespace) as another client.
func applyService(t *testing.T, cs kubernetes.Interface, ns, name string, port int) {
	t.Helper()
	ctx := context.Background()
	force := true
	opts := metav1.PatchOptions{FieldManager: k8s.FieldManager, Force: &force}
	nsDoc := fmt.Sprintf(`{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": %q}}`, ns)
	if _, err := cs.CoreV1().Namespaces().Patch(ctx, ns, types.ApplyPatchType, []byte(nsDoc), opts); err != nil {
		t.Fatal(err)
	}
	svc := fmt.Sprintf(`{"apiVersion": "v1", "kind": "Service", "metadata": {"name": %q, "namespace": %q}, "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": %d}]}}`, name, ns, port)
	if _, err := cs.CoreV1().Services(ns).Patch(ctx, name, types.ApplyPatchType, []byte(svc), opts); err != nil {
		t.Fatal(err)
	}
}

const readPortProgram = `mod envs { env default { } } mod main { flow read {
    k8s.get(kind: "service", name: "${NAME}", namespace: "${NS}", kubeconfig: "${KUBECONFIG_FILE}", out: "S");
    gx.echo("port=${S.spec.ports[0].port}");
} }`

// readPort reads the port of the Service ns/name with k8s.get.
func readPort(t *testing.T, kubeconfig, ns, name string) (string, error) {
	t.Helper()
	out, err := gxltest.Run(t, readPortProgram, "read", map[string]string{"KUBECONFIG_FILE": kubeconfig, "NS": ns, "NAME": name})
	if err != nil {
		return "", fmt.Errorf("%v\n%s", err, out)
	}
	i := strings.Index(out, "port=")
	if i < 0 {
		return "", fmt.Errorf("no port in %q", out)
	}
	return strings.Fields(out[i+len("port="):])[0], nil
}

func mustReadPort(t *testing.T, kubeconfig, ns, name string) string {
	t.Helper()
	p, err := readPort(t, kubeconfig, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readsOf(t *testing.T, kubeconfig string) (int64, int) {
	t.Helper()
	live, watching, err := k8s.Reads(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return live, watching
}

// TestWatchOutlivesRequestTimeout: a watched object stays watched across
// several request timeouts (no live read), and a change by another
// client still reaches k8s.get through the watch.
func TestWatchOutlivesRequestTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	defer k8s.SetRequestTimeout(timeout)()
	cs := admin(t)
	applyService(t, cs, "gxl-timeout", "primary", 5432)
	kc := startFreezer(t).kubeconfig(t) // never frozen: a connection of its own, with the short timeout

	for range 2 {
		if p := mustReadPort(t, kc, "gxl-timeout", "primary"); p != "5432" {
			t.Fatalf("port %s, want 5432", p)
		}
	}
	live, watching := readsOf(t, kc)
	if live != 2 || watching != 1 {
		t.Fatalf("2 reads: %d live, %d watched; want 2 and 1", live, watching)
	}
	for end := time.Now().Add(7 * timeout / 2); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if p := mustReadPort(t, kc, "gxl-timeout", "primary"); p != "5432" {
			t.Fatalf("port %s, want 5432", p)
		}
	}
	if l, w := readsOf(t, kc); l != live || w != 1 {
		t.Fatalf("after 3.5 request timeouts of reads: %d more live reads, %d watched; want 0 and 1: the request timeout cut the watch", l-live, w)
	}
	applyService(t, cs, "gxl-timeout", "primary", 5433)
	for deadline := time.Now().Add(10 * time.Second); mustReadPort(t, kc, "gxl-timeout", "primary") != "5433"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a change by another client never reached k8s.get")
		}
	}
	if l, w := readsOf(t, kc); l != live || w != 1 {
		t.Fatalf("the change came with %d live reads, %d watched; want it from the watch", l-live, w)
	}
}

// cutBound is how long after a silent cut of its connection a watched
// object may still be served, and a live read on that connection may
// take: pingAfter + pingTimeout (10 s), plus room for a loaded machine
// and client-go's 1 s wait before it retries a GET. client-go's own
// health check takes 30 to 45 s, the request timeout 30 s.
const cutBound = 15 * time.Second

// TestWatchDroppedOnSilentCut: the connection to the API server goes
// silent (no FIN, no RST). A live read sent on it ends within cutBound
// (here it succeeds: client-go retries it on a new connection), not
// after the 30 s request timeout; the watched object is dropped within
// cutBound; the next read, live on a new connection, sees a change made
// meanwhile by another client, and the reads after it are watched again.
func TestWatchDroppedOnSilentCut(t *testing.T) {
	cs := admin(t)
	applyService(t, cs, "gxl-cut", "primary", 5432)
	applyService(t, cs, "gxl-cut", "replica", 6432)
	f := startFreezer(t)
	kc := f.kubeconfig(t)
	for range 2 {
		if p := mustReadPort(t, kc, "gxl-cut", "primary"); p != "5432" {
			t.Fatalf("port %s, want 5432", p)
		}
	}
	if _, w := readsOf(t, kc); w != 1 {
		t.Fatalf("%d objects watched, want 1", w)
	}

	f.freeze()
	cut := time.Now()
	type result struct {
		port string
		err  error
		took time.Duration
	}
	got := make(chan result, 1)
	go func() {
		p, err := readPort(t, kc, "gxl-cut", "replica")
		got <- result{p, err, time.Since(cut)}
	}()
	defer func() { <-got }() // however the test ends
	for {
		if _, w := readsOf(t, kc); w == 0 {
			break
		}
		if time.Since(cut) > cutBound {
			t.Fatalf("the watched object is still served %s after its connection went silent", cutBound)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("watch dropped %s after the cut", time.Since(cut).Round(time.Millisecond))
	select {
	case r := <-got:
		got <- r
		if r.took > cutBound {
			t.Fatalf("a live read on the silent connection took %s (%v), want at most %s", r.took.Round(time.Millisecond), r.err, cutBound)
		}
		if r.err != nil || r.port != "6432" {
			t.Fatalf("a live read after the cut: port %q, %v; want 6432 (read again on a new connection)", r.port, r.err)
		}
		t.Logf("a live read sent on the silent connection answered %s after the cut", r.took.Round(time.Millisecond))
	case <-time.After(time.Until(cut.Add(cutBound))):
		t.Fatalf("a live read on the silent connection still waits %s after the cut", cutBound)
	}

	applyService(t, cs, "gxl-cut", "primary", 5433)
	live, _ := readsOf(t, kc)
	if p := mustReadPort(t, kc, "gxl-cut", "primary"); p != "5433" {
		t.Fatalf("port %s after the cut and another client's change to 5433", p)
	}
	if l, _ := readsOf(t, kc); l != live+1 {
		t.Fatalf("the first read after the cut: %d live reads, want 1", l-live)
	}
	mustReadPort(t, kc, "gxl-cut", "primary")
	if _, w := readsOf(t, kc); w != 1 {
		t.Fatalf("%d objects watched after reading again, want 1", w)
	}
}
