package k8s

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// TestKubeconfigKeptWhileUnchanged: the settings of a kubeconfig are read
// once while the file reads the same, handed out as copies, and read
// again as soon as it changed.
func TestKubeconfigKeptWhileUnchanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kubeconfig")
	write := func(server, ns string) {
		t.Helper()
		src := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + server +
			"\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: " + ns +
			"\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: t\n"
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	load := func() (string, string) {
		t.Helper()
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = p
		cfg, ns, err := loadKubeconfig(rules, "")
		if err != nil {
			t.Fatal(err)
		}
		host := cfg.Host
		cfg.Host = "changed-by-the-caller"
		return host, ns
	}
	write("https://one.example:6443", "a")
	before := kubeconfigLoads.Load()
	for range 3 {
		if h, ns := load(); h != "https://one.example:6443" || ns != "a" {
			t.Fatalf("server %q namespace %q", h, ns)
		}
	}
	if n := kubeconfigLoads.Load() - before; n != 1 {
		t.Errorf("an unchanged kubeconfig was read %d times", n)
	}
	write("https://two.example:6443", "b")
	if h, ns := load(); h != "https://two.example:6443" || ns != "b" {
		t.Errorf("after the kubeconfig changed: server %q namespace %q", h, ns)
	}
}
