package devstack

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gxl-dev/gxl/core/proc"
)

//go:embed kwok-stages.yaml
var kwokStages []byte

// UnreadyLabel is the pod label (value "true") by which a test keeps a
// pod unready: kwok makes it Running, never Ready (kwok-stages.yaml).
const UnreadyLabel = "gxl.test/unready"

// KubeOptions configure StartKube.
type KubeOptions struct {
	// APIOnly starts etcd and kube-apiserver only (no controllers, no pods).
	APIOnly bool
}

// Kube is a local control plane: etcd, kube-apiserver and, unless
// APIOnly, kube-controller-manager, kube-scheduler and kwok (a stand-in
// kubelet that makes pods Running and Ready; a pod labelled
// UnreadyLabel: "true" runs but never becomes Ready, a rollout that
// cannot finish).
type Kube struct {
	Dir        string
	Kubeconfig string // admin kubeconfig a user can also use by hand
	Server     string
	procs      []*proc.Proc
}

// KubeBinDir returns the folder of the cached Kubernetes binaries, building
// them with scripts/build-k8s-tools.sh when missing (about 8 minutes cold).
func KubeBinDir() (string, error) {
	script, err := repoFile("scripts/build-k8s-tools.sh")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("bash", script)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build-k8s-tools.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := lines[len(lines)-1]
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err != nil {
		return "", fmt.Errorf("build-k8s-tools.sh did not produce kube-apiserver in %s", dir)
	}
	return dir, nil
}

func randToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// StartKube starts the control plane in a new folder under base.
func StartKube(ctx context.Context, base string, opt KubeOptions) (*Kube, error) {
	bin, err := KubeBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(base, "gxl-kube-")
	if err != nil {
		return nil, err
	}
	k := &Kube{Dir: dir}
	ok := false
	defer func() {
		if !ok {
			k.Stop()
		}
	}()
	pki := filepath.Join(dir, "pki")
	os.MkdirAll(pki, 0o700)
	tokens := map[string]string{"admin": randToken(), "kcm": randToken(), "sched": randToken(), "kwok": randToken()}
	csv := fmt.Sprintf("%s,admin,admin,\"system:masters\"\n%s,system:kube-controller-manager,kcm,\"system:masters\"\n%s,system:kube-scheduler,sched\n%s,kwok,kwok,\"system:masters\"\n",
		tokens["admin"], tokens["kcm"], tokens["sched"], tokens["kwok"])
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(csv), 0o600); err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	os.WriteFile(filepath.Join(pki, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	os.WriteFile(filepath.Join(pki, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)

	ep, _ := proc.FreePort()
	peer, _ := proc.FreePort()
	apiPort, _ := proc.FreePort()
	start := func(name string, args ...string) (*proc.Proc, error) {
		p, err := proc.Start(name, filepath.Join(dir, name+".log"), exec.Command(filepath.Join(bin, name), args...))
		if err != nil {
			return nil, err
		}
		k.procs = append(k.procs, p)
		return p, nil
	}
	etcd, err := start("etcd", "--name", "gxl", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", ep), "--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", ep),
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer), "--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-cluster", fmt.Sprintf("gxl=http://127.0.0.1:%d", peer), "--unsafe-no-fsync", "--log-level=warn")
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := etcd.WaitFor(wctx, 50*time.Millisecond, func(ctx context.Context) error {
		return httpOK(ctx, fmt.Sprintf("http://127.0.0.1:%d/health", ep), "", nil)
	}); err != nil {
		return nil, err
	}
	api, err := start("kube-apiserver", fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", ep),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", apiPort),
		"--cert-dir="+pki, "--token-auth-file="+filepath.Join(dir, "tokens.csv"), "--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(pki, "sa.pub"), "--service-account-signing-key-file="+filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range=127.96.0.0/16", "--endpoint-reconciler-type=none", "--allow-privileged=true")
	if err != nil {
		return nil, err
	}
	k.Server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	crt := filepath.Join(pki, "apiserver.crt")
	if err := api.WaitFor(wctx, 100*time.Millisecond, func(ctx context.Context) error {
		pem, err := os.ReadFile(crt)
		if err != nil || len(pem) == 0 {
			return fmt.Errorf("no serving certificate yet")
		}
		return httpOK(ctx, k.Server+"/readyz", tokens["admin"], pem)
	}); err != nil {
		return nil, err
	}
	kc := func(name, token string) string {
		p := filepath.Join(dir, name+".kubeconfig")
		os.WriteFile(p, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: gxl
  cluster: {server: %q, certificate-authority: %q}
users:
- name: %s
  user: {token: %q}
contexts:
- name: gxl
  context: {cluster: gxl, user: %s}
current-context: gxl
`, k.Server, crt, name, token, name)), 0o600)
		return p
	}
	k.Kubeconfig = kc("admin", tokens["admin"])
	if opt.APIOnly {
		ok = true
		return k, nil
	}
	kcm := kc("kcm", tokens["kcm"])
	sched := kc("sched", tokens["sched"])
	kwokKC := kc("kwok", tokens["kwok"])
	if _, err := start("kube-controller-manager", "--kubeconfig="+kcm, "--authentication-kubeconfig="+kcm, "--authorization-kubeconfig="+kcm,
		"--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false",
		"--service-account-private-key-file="+filepath.Join(pki, "sa.key"), "--root-ca-file="+crt,
		"--controllers=*",
		// kwok's stages here make nodes Ready but send no heartbeats, so the
		// node lifecycle controller would mark the node (and every pod on it)
		// NotReady after the 50 s grace period: a stack living longer than a
		// test (gxl dev up, the demo) needs a longer one.
		"--node-monitor-grace-period=8760h", "--node-startup-grace-period=8760h"); err != nil {
		return nil, err
	}
	if _, err := start("kube-scheduler", "--kubeconfig="+sched, "--authentication-kubeconfig="+sched, "--authorization-kubeconfig="+sched,
		"--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false"); err != nil {
		return nil, err
	}
	stages := filepath.Join(dir, "kwok-stages.yaml")
	os.WriteFile(stages, kwokStages, 0o644)
	if _, err := start("kwok", "--kubeconfig="+kwokKC, "--config="+stages,
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--server-address=127.0.0.1:0", "--node-ip=127.0.0.1", "--cidr=10.0.0.1/24"); err != nil {
		return nil, err
	}
	node := `{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-node-0","annotations":{"kwok.x-k8s.io/node":"fake"},"labels":{"kubernetes.io/hostname":"kwok-node-0","type":"kwok"}}}`
	pemCA, _ := os.ReadFile(crt)
	if err := httpPost(wctx, k.Server+"/api/v1/nodes", tokens["admin"], pemCA, node); err != nil {
		return nil, fmt.Errorf("create the kwok node: %w", err)
	}
	ok = true
	return k, nil
}

func tlsClient(caPEM []byte) *http.Client {
	tr := &http.Transport{}
	if caPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func httpOK(ctx context.Context, url, token string, caPEM []byte) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := tlsClient(caPEM).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

func httpPost(ctx context.Context, url, token string, caPEM []byte, body string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := tlsClient(caPEM).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// Stop stops every process, newest first.
func (k *Kube) Stop() {
	for i := len(k.procs) - 1; i >= 0; i-- {
		k.procs[i].Stop(10 * time.Second)
	}
}

// Cleanup stops and removes the folder.
func (k *Kube) Cleanup() {
	k.Stop()
	os.RemoveAll(k.Dir)
}

// Logs returns the tail of the control plane's logs.
func (k *Kube) Logs() string {
	var b strings.Builder
	for _, p := range k.procs {
		fmt.Fprintf(&b, "--- %s (%s)\n%s\n", p.Name, p.LogPath, p.Tail(1500))
	}
	return b.String()
}
