package k8s_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/stdlib/k8s"
)

// watchProgram reads, re-points and deletes a Service named like the
// example system's postgres-primary (port PORT).
var watchProgram = fmt.Sprintf(`
mod envs { env default { } }
mod main {
    flow create {
        k8s.apply(text: r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gxl-watch"}}"#, kubeconfig: "${KUBECONFIG_FILE}");
        k8s.apply(text: "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"primary\", \"namespace\": \"gxl-watch\"}, \"spec\": {\"type\": \"ExternalName\", \"externalName\": \"localhost\", \"ports\": [{\"port\": ${PORT}}]}}", kubeconfig: "${KUBECONFIG_FILE}");
    }
    flow read {
        k8s.get(kind: "service", name: "primary", namespace: "gxl-watch", kubeconfig: "${KUBECONFIG_FILE}", out: "S");
        gx.echo("port=${S.spec.ports[0].port}");
    }
%s    flow remove {
        k8s.exists(kind: "service", name: "primary", namespace: "gxl-watch", kubeconfig: "${KUBECONFIG_FILE}", out: "E");
        gx.assert(value: "${E}", expect: "true");
        k8s.delete(kind: "service", name: "primary", namespace: "gxl-watch", kubeconfig: "${KUBECONFIG_FILE}");
        k8s.exists(kind: "service", name: "primary", namespace: "gxl-watch", kubeconfig: "${KUBECONFIG_FILE}", out: "E");
        gx.assert(value: "${E}", expect: "false", err: "k8s.exists right after k8s.delete: a stale read");
    }
}
`, repointFlow())

// repointFlow: ten rounds, each reading the Service (watched from the
// second read on), re-pointing it and reading it back at once (what a
// failover does); then the port 7000.
func repointFlow() string {
	get := `        k8s.get(kind: "service", name: "primary", namespace: "gxl-watch", kubeconfig: "${KUBECONFIG_FILE}", out: "S");` + "\n"
	apply := func(port int) string {
		return fmt.Sprintf(`        k8s.apply(text: "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"primary\", \"namespace\": \"gxl-watch\"}, \"spec\": {\"type\": \"ExternalName\", \"externalName\": \"localhost\", \"ports\": [{\"port\": %d}]}}", kubeconfig: "${KUBECONFIG_FILE}");`+"\n", port)
	}
	var b strings.Builder
	b.WriteString("    flow repoint {\n")
	for p := 6001; p <= 6010; p++ {
		b.WriteString(get + get + apply(p) + get)
		fmt.Fprintf(&b, `        gx.assert(value: "${S.spec.ports[0].port}", expect: "%d", err: "read ${S.spec.ports[0].port} right after applying %d: a stale read");`+"\n", p, p)
	}
	b.WriteString(apply(7000) + "    }\n")
	return b.String()
}

// TestGetFromWatch: an object k8s.get reads again and again is read from
// a watch (no request per read); a change by another client reaches it;
// a read right after a write of gxl's own (apply, delete) sees that
// write; a watch broken by an API server restart falls back to live
// reads, then watches again.
func TestGetFromWatch(t *testing.T) {
	ctx := context.Background()
	vars := map[string]string{"KUBECONFIG_FILE": kube.Kubeconfig, "PORT": "5432"}
	run := func(flow string) string {
		t.Helper()
		out, err := gxltest.Run(t, watchProgram, flow, vars)
		if err != nil {
			t.Fatalf("%s: %v\n%s", flow, err, out)
		}
		return out
	}
	reads := func() (int64, int) {
		t.Helper()
		live, watching, err := k8s.Reads(kube.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		return live, watching
	}
	port := func() string {
		t.Helper()
		out := run("read")
		i := strings.Index(out, "port=")
		if i < 0 {
			t.Fatalf("read: no port in %q", out)
		}
		return strings.Fields(out[i+len("port="):])[0]
	}
	run("create")

	// Read again and again: from the watch after the second read.
	live0, _ := reads()
	for range 6 {
		if p := port(); p != "5432" {
			t.Fatalf("port %s, want 5432", p)
		}
	}
	live, watching := reads()
	if live-live0 != 2 || watching != 1 {
		t.Fatalf("6 reads: %d went to the API server, %d objects watched; want 2 (a GET, then the list the watch starts from) and 1", live-live0, watching)
	}

	// Another client changes it: the watch brings the change.
	cfg, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Another client re-points it as gxl does (server-side apply, field
	// manager gxl): another gxl process, say.
	setPort := func(p int32) {
		t.Helper()
		patch := fmt.Sprintf(`{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "primary", "namespace": "gxl-watch"}, "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": %d}]}}`, p)
		force := true
		if _, err := cs.CoreV1().Services("gxl-watch").Patch(ctx, "primary", types.ApplyPatchType, []byte(patch), metav1.PatchOptions{FieldManager: k8s.FieldManager, Force: &force}); err != nil {
			t.Fatal(err)
		}
	}
	setPort(5433)
	deadline := time.Now().Add(10 * time.Second)
	for port() != "5433" {
		if time.Now().After(deadline) {
			t.Fatal("a change by another client never reached k8s.get")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if l, w := reads(); l != live || w != 1 {
		t.Fatalf("the change was read from the API server (%d live reads) or the watch ended (%d watched): want it from the watch", l-live, w)
	}

	// A write of gxl's own: the read right after it sees it.
	run("repoint")
	if _, w := reads(); w != 0 {
		t.Fatalf("after k8s.apply %d objects are still watched: a read could return the object from before the write", w)
	}
	if p := port(); p != "7000" {
		t.Fatalf("port %s after applying 7000", p)
	}

	// The API server restarts: the watch breaks, reads are live (and
	// right), then watched again.
	port()
	if _, w := reads(); w != 1 {
		t.Fatalf("%d objects watched before the restart, want 1", w)
	}
	if err := kube.RestartAPIServer(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		if _, w := reads(); w == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watch outlived the API server's restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	setPort(5434)
	live, _ = reads()
	if p := port(); p != "5434" {
		t.Fatalf("port %s after the restart and another client's change to 5434", p)
	}
	if l, _ := reads(); l != live+1 {
		t.Fatalf("the first read after the watch broke: %d live reads, want 1", l-live)
	}
	port()
	if _, w := reads(); w != 1 {
		t.Fatalf("%d objects watched after reading again, want 1", w)
	}

	// Deleted by gxl: gone at once for k8s.exists.
	run("remove")
}

// TestGetWithoutListAndWatch: a user whose Role grants get and not list
// or watch (deploy/rbac.yaml before the watches) reads an object again
// and again with k8s.get: every read is a GET, none fails.
func TestGetWithoutListAndWatch(t *testing.T) {
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	const ns, user = "gxl-get-only", "gxl-get-only"
	for _, js := range []string{
		`{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gxl-get-only"}}`,
		`{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "primary", "namespace": "gxl-get-only"}, "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": 5432}]}}`,
		`{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "get", "namespace": "gxl-get-only"}, "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["get"]}]}`,
		`{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "get", "namespace": "gxl-get-only"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "get"}, "subjects": [{"kind": "User", "name": "gxl-get-only"}]}`,
	} {
		if out, err := gxltest.Run(t, `mod envs { env default { } } mod main { flow f { k8s.apply(text: "${M}", kubeconfig: "${KUBECONFIG_FILE}"); } }`, "f", map[string]string{"M": js, "KUBECONFIG_FILE": kube.Kubeconfig}); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	// The same cluster, as that user.
	kc, err := clientcmd.LoadFromFile(kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, ai := range kc.AuthInfos {
		ai.Impersonate = user
	}
	getOnly := t.TempDir() + "/kubeconfig"
	if err := clientcmd.WriteToFile(*kc, getOnly); err != nil {
		t.Fatal(err)
	}
	ucfg := rest.CopyConfig(cfg)
	ucfg.Impersonate.UserName = user
	ucs, err := kubernetes.NewForConfig(ucfg)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err := ucs.CoreV1().Services(ns).Get(ctx, "primary", metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Role never applied: %v", err)
		}
	}
	if _, err := ucs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("list as %s: %v, want forbidden", user, err)
	}

	prog := `mod envs { env default { } } mod main { flow read {
        k8s.get(kind: "service", name: "primary", namespace: "gxl-get-only", kubeconfig: "${KUBECONFIG_FILE}", out: "S");
        gx.assert(value: "${S.spec.ports[0].port}", expect: "5432");
    } }`
	for i := range 4 {
		if out, err := gxltest.Run(t, prog, "read", map[string]string{"KUBECONFIG_FILE": getOnly}); err != nil {
			t.Fatalf("read %d: %v\n%s", i+1, err, out)
		}
	}
	if live, watching, err := k8s.Reads(getOnly); err != nil || live != 4 || watching != 0 {
		t.Fatalf("4 reads as a get-only user: %d live, %d watched (%v); want 4 and 0", live, watching, err)
	}
}
