package k8s_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/gxltest"
)

var kube *devstack.Kube

func TestMain(m *testing.M) {
	began := time.Now()
	k, err := devstack.StartKube(context.Background(), "", devstack.KubeOptions{})
	if err != nil {
		// Never skipped: a control plane that cannot start fails the package.
		fmt.Fprintln(os.Stderr, "FAIL: cannot start the Kubernetes control plane:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "kubernetes control plane ready in %s\n", time.Since(began).Round(time.Millisecond))
	kube = k
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, kube.Logs())
	}
	kube.Cleanup()
	os.Exit(code)
}

const program = `
mod envs { env default { } }
mod main {
    flow deploy {
        k8s.exists(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", out: "BEFORE");
        gx.assert(value: "${BEFORE}", expect: "false");
        k8s.apply(file: "${MANIFESTS}", kubeconfig: "${KUBECONFIG_FILE}", out: "A1");
        k8s.exists(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", out: "AFTER");
        gx.assert(value: "${AFTER}", expect: "true");
        gx.assert(value: "${A1.created}", expect: "5");
        k8s.apply(file: "${MANIFESTS}", kubeconfig: "${KUBECONFIG_FILE}", out: "A2");
        gx.assert(value: "${A2.unchanged}", expect: "5", err: "re-apply changed something: ${A2}");
        k8s.wait(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", timeout: "60s");
        k8s.get(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", out: "D");
        gx.assert(value: "${D.status.readyReplicas}", expect: "2");
        k8s.get(kind: "service", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", out: "S");
        gx.assert(value: "${S.spec.ports[0].port}", expect: "80");
    }
    flow scale {
        k8s.scale(kind: "deploy", name: "user-service", namespace: "gxl-test", replicas: 3, kubeconfig: "${KUBECONFIG_FILE}");
        k8s.wait(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", timeout: "60s");
        k8s.get(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", out: "D");
        gx.assert(value: "${D.status.readyReplicas}", expect: "3");
    }
    flow upgrade {
        gx.read_cmd(name: "NEWDEP", cmd: "sed 's/user-service:v4.1.0/user-service:v4.2.0/' ${MANIFESTS}/20-deployment.yaml", quiet: true);
        k8s.diff(text: "${NEWDEP}", kubeconfig: "${KUBECONFIG_FILE}", out: "DIFF");
        gx.assert(value: "${DIFF[0]}", expect: "gxl-test/deployment/user-service configured");
        k8s.apply(text: "${NEWDEP}", kubeconfig: "${KUBECONFIG_FILE}");
        k8s.wait(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", timeout: "60s");
        k8s.get(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", out: "D");
        gx.assert(value: "${D.spec.template.spec.containers[0].image}", expect: "registry.local/user-service:v4.2.0");
    }
    flow rollback {
        k8s.rollback(name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}");
        k8s.wait(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", timeout: "60s");
        k8s.get(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", out: "D");
        gx.assert(value: "${D.spec.template.spec.containers[0].image}", expect: "registry.local/user-service:v4.1.0");
    }
    flow prune {
        k8s.apply(text: r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra", "namespace": "gxl-test", "labels": {"app.kubernetes.io/part-of": "gxl-test"}}, "data": {"a": "1"}}"#, kubeconfig: "${KUBECONFIG_FILE}");
        k8s.get(kind: "configmap", name: "extra", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}");
        k8s.apply(file: "${MANIFESTS}/10-config.yaml", prune: true, selector: "app.kubernetes.io/part-of=gxl-test", kubeconfig: "${KUBECONFIG_FILE}", out: "P");
        gx.assert(value: "${P.pruned}", expect: "1");
    }
    flow remove {
        k8s.delete(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}");
        k8s.delete(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}");
        k8s.exists(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", out: "GONE");
        gx.assert(value: "${GONE}", expect: "false");
    }
}
`

func TestLifecycle(t *testing.T) {
	abs, _ := filepath.Abs("../../testdata/k8s/app")
	vars := map[string]string{"MANIFESTS": abs, "KUBECONFIG_FILE": kube.Kubeconfig}
	for _, flow := range []string{"deploy", "scale", "upgrade", "rollback", "prune", "remove"} {
		began := time.Now()
		out, err := gxltest.Run(t, program, flow, vars)
		if err != nil {
			t.Fatalf("%s: %v\n%s", flow, err, out)
		}
		t.Logf("%s: %s", flow, time.Since(began).Round(time.Millisecond))
	}
	out, err := gxltest.Run(t, program+`mod check { flow gone { k8s.get(kind: "deployment", name: "user-service", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}"); } }`, "check.gone", vars)
	if err == nil {
		t.Fatalf("deployment still exists after delete:\n%s", out)
	}
	// A server that cannot answer is an error, never "does not exist".
	down := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(down, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\ncontexts: [{name: c, context: {cluster: c}}]\ncurrent-context: c\n"), 0o600)
	out, err = gxltest.Run(t, program+`mod check { flow down { k8s.exists(kind: "configmap", name: "x", namespace: "gxl-test", kubeconfig: "${DOWN}", timeout: "2s", out: "E"); gx.echo("exists=${E}"); } }`, "check.down", map[string]string{"DOWN": down, "KUBECONFIG_FILE": kube.Kubeconfig, "MANIFESTS": abs})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("k8s.exists against an unreachable server: %v\n%s", err, out)
	}
}

// TestWaitTimeout: k8s.wait gives up after its timeout with the one shape
// of wait error (core/retry.Poll): what it waited for and the last
// reason.
func TestWaitTimeout(t *testing.T) {
	prog := `
mod envs { env default { } }
mod main {
    flow test { k8s.wait(kind: "deployment", name: "nope", namespace: "gxl-test", kubeconfig: "${KUBECONFIG_FILE}", timeout: "300ms"); }
}`
	_, err := gxltest.Run(t, prog, "test", map[string]string{"KUBECONFIG_FILE": kube.Kubeconfig})
	want := ": k8s.wait: timed out after 300ms waiting for deployment/nope ("
	if err == nil || !strings.Contains(err.Error(), want) || !strings.HasSuffix(err.Error(), ") to reach rollout: not found yet") {
		t.Fatalf("err = %v, want %q ... to reach rollout: not found yet", err, want)
	}
}
