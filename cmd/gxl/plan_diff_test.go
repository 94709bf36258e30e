package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gxl-dev/gxl/internal/devstack"
)

// TestPlanDiffChangesNothing runs gxl plan --diff against a real API
// server: every reachable k8s.apply (also one behind an fn call) is
// previewed by a server-side dry run — a new object "created", a changed
// one "configured" with its field diff, an equal one "unchanged", a
// Secret's values never shown — and afterwards every object has the
// resourceVersion it had before and the new one still does not exist.
func TestPlanDiffChangesNothing(t *testing.T) {
	ctx := context.Background()
	kube, err := devstack.StartKube(ctx, "", devstack.KubeOptions{APIOnly: true})
	if err != nil {
		t.Fatalf("Kubernetes: %v", err)
	}
	defer kube.Cleanup()
	cfg, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ns := "plan-test"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, cm := range []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: "keep", Namespace: ns}, Data: map[string]string{"a": "1"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "change", Namespace: ns}, Data: map[string]string{"a": "1", "gone": "x"}},
	} {
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pw", Namespace: ns},
		StringData: map[string]string{"pw": "old-password"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	versions := func() map[string]string {
		out := map[string]string{}
		for _, n := range []string{"keep", "change"} {
			cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out["configmap/"+n] = cm.ResourceVersion
		}
		s, err := cs.CoreV1().Secrets(ns).Get(ctx, "pw", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out["secret/pw"] = s.ResourceVersion
		return out
	}
	before := versions()

	dir := t.TempDir()
	prog := `mod envs { env default { } }
mod main {
    flow deploy {
        k8s.apply(text: r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep", "namespace": "plan-test"}, "data": {"a": "1"}}"#, kubeconfig: "${KC}");
        k8s.apply(text: r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "change", "namespace": "plan-test"}, "data": {"a": "2"}}"#, kubeconfig: "${KC}");
        put(name: "fresh");
        k8s.apply(text: "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"pw\", \"namespace\": \"plan-test\"}, \"stringData\": {\"pw\": \"${SEC_PW}\"}}", kubeconfig: "${KC}");
    }
    fn put(name) {
        k8s.apply(text: "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"${name}\", \"namespace\": \"plan-test\"}, \"data\": {\"b\": \"3\"}}", kubeconfig: "${KC}");
    }
}
`
	if err := os.WriteFile(filepath.Join(dir, "d.gxl"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	sets := []string{"--set", "KC=" + kube.Kubeconfig, "--set", "SEC_PW=new-password"}
	r := gxl(t, dir, append([]string{"plan", "--diff", "d.gxl", "deploy"}, sets...)...)
	if r.code != 0 {
		t.Fatalf("gxl plan --diff: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"plan-test/configmap/keep unchanged",
		"plan-test/configmap/change configured",
		`data.a: "1" → "2"`,
		"plan-test/configmap/fresh created",
		"plan-test/secret/pw configured",
		"data.pw: (sensitive) → (sensitive)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("gxl plan --diff: no %q in\n%s", want, r.stdout)
		}
	}
	// Server-side apply leaves a field another manager owns (data.gone,
	// written by the Create above): the dry run says so.
	if strings.Contains(r.stdout, "data.gone") {
		t.Errorf("gxl plan --diff: data.gone would not change:\n%s", r.stdout)
	}
	for _, secret := range []string{"new-password", "old-password", "bmV3LXBhc3N3b3Jk", "b2xkLXBhc3N3b3Jk"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("gxl plan --diff printed a secret (%s):\n%s", secret, r.stdout)
		}
	}
	j := gxl(t, dir, append([]string{"plan", "--diff", "--format", "json", "d.gxl", "deploy"}, sets...)...)
	if j.code != 0 || !strings.Contains(j.stdout, `"action": "configured"`) || !strings.Contains(j.stdout, `"path": "data.a"`) {
		t.Errorf("gxl plan --diff --format json: exit %d\n%s%s", j.code, j.stdout, j.stderr)
	}

	if after := versions(); !mapsEqual(before, after) {
		t.Errorf("gxl plan --diff changed objects: resourceVersions before %v, after %v", before, after)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "fresh", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("gxl plan --diff created configmap fresh (get: %v)", err)
	}
	cm, _ := cs.CoreV1().ConfigMaps(ns).Get(ctx, "change", metav1.GetOptions{})
	if cm.Data["a"] != "1" || cm.Data["gone"] != "x" {
		t.Errorf("gxl plan --diff changed configmap change: %v", cm.Data)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
