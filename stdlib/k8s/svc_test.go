package k8s_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// release is what a deploy applies: a Deployment of image, its pods kept
// unready by kwok when unready, with replicas pods (0: 2).
type release struct {
	image    string
	unready  bool
	replicas int
}

// svcDeploy runs the deploy flow of the service library the example
// system's service modules inherit (modules/ops-gxl/mods/svc.gxl) for a
// service named name whose only manifest is the Deployment of rel. It
// returns the output, the log and the run's error. Its alerts go nowhere
// (svcDeployTo sends them).
func svcDeploy(t *testing.T, ns, name string, rel release) (string, string, error) {
	t.Helper()
	return svcDeployTo(t, ns, name, rel, nil)
}

// svcDeployTo is svcDeploy with the alerts sent to rcv, the system's
// state (its open incidents) kept in rcv.root across deploys.
func svcDeployTo(t *testing.T, ns, name string, rel release, rcv *alertSink) (string, string, error) {
	t.Helper()
	lib, err := filepath.Abs("../../modules/ops-gxl/mods")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "k8s"), 0o755)
	label := ""
	if rel.unready {
		label = fmt.Sprintf("\n        %s: \"true\"", devstack.UnreadyLabel)
	}
	if rel.replicas == 0 {
		rel.replicas = 2
	}
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  replicas: %[5]d
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata:
      labels:
        app: %[2]s%[4]s
    spec:
      containers:
      - {name: app, image: %[3]q}
`, ns, name, rel.image, label, rel.replicas)
	if err := os.WriteFile(filepath.Join(dir, "k8s", "20-deployment.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := fmt.Sprintf(`extern mod svc { path = %q; }
mod envs { env default { } }
mod main : svc { SERVICE = %q; }
`, lib, name)
	vars := map[string]value.Value{
		"MODULE_DIR": value.Str(dir), "MODULE_NAME": value.Str(strings.ReplaceAll(name, "-", "_") + "_module"), "NAMESPACE": value.Str(ns), "KUBECONFIG": value.Str(kube.Kubeconfig),
		"ROLLOUT_TIMEOUT": value.Str("3s"),
		// Upgrades of a running service wait for the maintenance window;
		// these tests deploy as `gxl run --force` does.
		"MAINTENANCE_WINDOW_START": value.Str("02:00"), "MAINTENANCE_WINDOW_END": value.Str("04:00"),
	}
	// alert.send's settings (sys/vars.yml): empty sends nothing.
	for _, k := range []string{"SLACK_WEBHOOK_URL", "PAGERDUTY_SERVICE_KEY", "PAGERDUTY_EVENTS_URL", "ALERT_SMTP_SERVER", "ALERT_EMAIL_FROM",
		"ALERT_EMAIL_RECIPIENTS", "ALERT_SMTP_USER", "ALERT_SMTP_PASSWORD"} {
		vars[k] = value.Str("")
	}
	vars["SYS_NAME"], vars["ENVIRONMENT"], vars["CLUSTER_NAME"] = value.Str("shop"), value.Str("test"), value.Str("kwok")
	host := builtin.Host{Force: true, SysRoot: dir}
	if rcv != nil {
		vars["SLACK_WEBHOOK_URL"] = value.Str(rcv.URL + "/slack")
		vars["PAGERDUTY_EVENTS_URL"] = value.Str(rcv.URL + "/v2/enqueue")
		vars["PAGERDUTY_SERVICE_KEY"] = value.Str("routing-key")
		host.SysRoot = rcv.root
	}
	return gxltest.RunLog(t, prog, "deploy", host, vars)
}

// alertSink is the receiver of gxltest standing in for Slack (/slack)
// and PagerDuty (/v2/enqueue); root is the system's folder, whose
// .gxl/incidents holds the open incidents between deploys.
type alertSink struct {
	*gxltest.Alerts
	root string
}

func newAlertSink(t *testing.T) *alertSink {
	return &alertSink{Alerts: gxltest.NewAlerts(t, "/slack"), root: t.TempDir()}
}

func clientset(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(cfg)
}

// rolledOut fails the test unless Deployment d runs image on all its
// replicas, ready, with its rollout complete, and no pod template kept
// unready.
func rolledOut(t *testing.T, d *appsv1.Deployment, image string) {
	t.Helper()
	tpl := d.Spec.Template
	if got := tpl.Spec.Containers[0].Image; got != image {
		t.Errorf("deployment %s runs %s, want %s", d.Name, got, image)
	}
	if _, ok := tpl.Labels[devstack.UnreadyLabel]; ok {
		t.Errorf("deployment %s kept the failed pod template: labels %v", d.Name, tpl.Labels)
	}
	want := *d.Spec.Replicas
	st := d.Status
	if st.ObservedGeneration < d.Generation || st.UpdatedReplicas != want || st.ReadyReplicas != want || st.AvailableReplicas != want || st.Replicas != want {
		t.Errorf("deployment %s not rolled out: generation %d/%d, updated %d, ready %d, available %d, total %d, want %d",
			d.Name, st.ObservedGeneration, d.Generation, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.Replicas, want)
	}
}

// TestSvcDeployFirstInstallFails: the first install of a service whose
// pods never become ready fails, and its undo removes the Deployment.
func TestSvcDeployFirstInstallFails(t *testing.T) {
	const ns, name = "svc-first", "web"
	out, log, err := svcDeploy(t, ns, name, release{image: "registry.local/web:v1", unready: true})
	if err == nil || !strings.Contains(err.Error(), "k8s.wait: timed out after 3s") {
		t.Fatalf("err = %v, want the rollout's timeout\n%s", err, out)
	}
	if !strings.Contains(out, "web: rollout of the first install failed; removing the deployment") {
		t.Errorf("output lacks the removal:\n%s\n%s", out, log)
	}
	_, err = clientset(t).AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("the failed first install left its Deployment: %v\n%s", err, out)
	}
}

// TestSvcDeployUpgradeFails: an upgrade whose new pods never become ready
// is rolled back to the revision that ran before, which is ready again;
// the Deployment stays. A retry of the same upgrade (after the rollback
// renumbered the revisions) returns to the same revision, not to the
// failed one; so does a failed deploy that made no new revision. A good
// upgrade then rolls out untouched.
func TestSvcDeployUpgradeFails(t *testing.T) {
	ctx := context.Background()
	const ns, name = "svc-upgrade", "web"
	cs := clientset(t)
	get := func() *appsv1.Deployment {
		t.Helper()
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the Deployment is gone: %v", err)
		}
		return d
	}
	if out, log, err := svcDeploy(t, ns, name, release{image: "registry.local/web:v1"}); err != nil {
		t.Fatalf("first install: %v\n%s\n%s", err, out, log)
	}
	before := get()
	rolledOut(t, before, "registry.local/web:v1")
	uid := before.UID

	for try := 1; try <= 2; try++ {
		out, log, err := svcDeploy(t, ns, name, release{image: "registry.local/web:v2-broken", unready: true})
		if err == nil || !strings.Contains(err.Error(), "k8s.wait: timed out after 3s") {
			t.Fatalf("upgrade %d: err = %v, want the rollout's timeout\n%s", try, err, out)
		}
		if !strings.Contains(out, "web: rollout failed; rolling back to revision") || !strings.Contains(out, "web: rolled back to the revision that ran before") {
			t.Errorf("upgrade %d: output lacks the rollback:\n%s\n%s", try, out, log)
		}
		d := get()
		if d.UID != uid {
			t.Fatalf("upgrade %d: the Deployment was deleted and created again", try)
		}
		rolledOut(t, d, "registry.local/web:v1")
	}

	// A deploy that changes no pod template but whose rollout fails (a
	// ResourceQuota lets the namespace have 3 pods, the deploy asks for
	// 4): there is nothing to roll back to. "The revision before the
	// newest" would be the broken one of the upgrades above; the revision
	// recorded before the apply is the one running, so the pod template
	// stays v1.
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "pods", Namespace: ns},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("3")}}}
	if _, err := cs.CoreV1().ResourceQuotas(ns).Create(ctx, quota, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Pods are admitted against a quota once its controller has counted them.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		q, err := cs.CoreV1().ResourceQuotas(ns).Get(ctx, "pods", metav1.GetOptions{})
		if err == nil && !q.Status.Hard.Pods().IsZero() {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the quota is not counted after 30s: %v %v", q, err)
		}
	}
	out, log, err := svcDeploy(t, ns, name, release{image: "registry.local/web:v1", replicas: 4})
	if err == nil || !strings.Contains(err.Error(), "k8s.wait: timed out after 3s") {
		t.Fatalf("deploy without a new revision: err = %v, want the rollout's timeout\n%s\n%s", err, out, log)
	}
	if d := get(); d.Spec.Template.Spec.Containers[0].Image != "registry.local/web:v1" || d.Spec.Template.Labels[devstack.UnreadyLabel] != "" {
		t.Fatalf("the undo of a deploy without a new revision changed the pod template: %s %v", d.Spec.Template.Spec.Containers[0].Image, d.Spec.Template.Labels)
	}
	if !strings.Contains(log, "k8s.rollback web: already at revision") {
		t.Errorf("the undo of a deploy without a new revision did not find itself at the recorded revision:\n%s", log)
	}
	if err := cs.CoreV1().ResourceQuotas(ns).Delete(ctx, "pods", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	out, log, err = svcDeploy(t, ns, name, release{image: "registry.local/web:v3"})
	if err != nil {
		t.Fatalf("good upgrade: %v\n%s\n%s", err, out, log)
	}
	if strings.Contains(out, "rolling back") {
		t.Errorf("a good upgrade was rolled back:\n%s", out)
	}
	rolledOut(t, get(), "registry.local/web:v3")
}

// TestSvcDeployRollbackCannotBeReady: when the revision that ran before
// the upgrade is itself not ready, the rollback to it is a clear error
// in the run's log (the run fails with the rollout's error, spec §4.11),
// and the failed upgrade's alert says the revision is not ready.
func TestSvcDeployRollbackCannotBeReady(t *testing.T) {
	const ns, name = "svc-stuck", "web"
	// A Deployment that never rolled out, applied outside the deploy flow.
	out, log, err := gxltest.RunLog(t, fmt.Sprintf(`mod envs { env default { } }
mod main { flow put {
    k8s.apply(text: r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": %[1]q}}"#);
    k8s.apply(text: r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": %[2]q, "namespace": %[1]q},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": %[2]q}}, "template": {"metadata": {"labels": {"app": %[2]q, %[3]q: "true"}},
        "spec": {"containers": [{"name": "app", "image": "registry.local/web:v1"}]}}}}"#);
} }`, ns, name, devstack.UnreadyLabel), "put", builtin.Host{}, map[string]value.Value{"KUBECONFIG": value.Str(kube.Kubeconfig)})
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, log)
	}
	rcv := newAlertSink(t)
	out, log, err = svcDeployTo(t, ns, name, release{image: "registry.local/web:v2-broken", unready: true}, rcv)
	if err == nil || !strings.Contains(err.Error(), "k8s.wait: timed out after 3s") {
		t.Fatalf("err = %v, want the rollout's timeout\n%s", err, out)
	}
	if !strings.Contains(log, "k8s.rollback: the revision rolled back to cannot become ready: timed out after ") || !strings.Contains(log, " waiting for deployment/web to roll out revision 1 (") {
		t.Errorf("log lacks the failed rollback:\n%s", log)
	}
	// The alert goes out all the same (its undo runs after the failed
	// one), saying that the revision rolled back to is not ready.
	if slack, _ := rcv.Got(); len(slack) != 1 || !strings.Contains(slack[0], "upgrade of web (module web_module) failed: k8s.wait: timed out after 3s") || !strings.Contains(slack[0], "), 0/2 replicas ready") {
		t.Errorf("alerts %q, want one saying 0/2 replicas ready\n%s", slack, log)
	}
}

// TestSvcUpgradeFailureAlerts: an upgrade whose rollout fails and is
// rolled back alerts once (Slack and a PagerDuty trigger, to a real
// receiver) with the module, the revision rolled back to and the
// rollout's error; a second failed upgrade of the same module while the
// incident is open does not alert again; the next upgrade that rolls out
// resolves it once, with the trigger's dedup key; a good upgrade after
// that and a failed first install of another service send nothing.
func TestSvcUpgradeFailureAlerts(t *testing.T) {
	const ns = "svc-alert"
	rcv := newAlertSink(t)
	deploy := func(name string, rel release, fails bool) string {
		t.Helper()
		out, log, err := svcDeployTo(t, ns, name, rel, rcv)
		if (err != nil) != fails {
			t.Fatalf("deploy %s %s: err = %v\n%s\n%s", name, rel.image, err, out, log)
		}
		return out + log
	}
	count := func(what string, slack, pd int) {
		t.Helper()
		s, p := rcv.Got()
		if len(s) != slack || len(p) != pd {
			t.Fatalf("%s: %d Slack messages, %d PagerDuty events, want %d and %d:\n%q\n%v", what, len(s), len(p), slack, pd, s, p)
		}
	}
	deploy("web", release{image: "registry.local/web:v1"}, false)
	count("first install", 0, 0)
	out := deploy("web", release{image: "registry.local/web:v2-broken", unready: true}, true)
	count("failed upgrade", 1, 1)
	slack, pd := rcv.Got()
	for _, want := range []string{"[shop test] critical: upgrade of web (module web_module) failed: k8s.wait: timed out after 3s", "; rolled back to revision 1 (", "), 2/2 replicas ready"} {
		if !strings.Contains(slack[0], want) {
			t.Errorf("the alert lacks %q: %q\n%s", want, slack[0], out)
		}
	}
	t.Logf("alert: %s", slack[0])
	trig := pd[0]
	dedup, _ := trig["dedup_key"].(string)
	if trig["event_action"] != "trigger" || !strings.HasPrefix(dedup, "upgrade.web-") {
		t.Errorf("PagerDuty trigger %v", trig)
	}
	if p, _ := trig["payload"].(map[string]any); p["severity"] != "critical" || !strings.Contains(fmt.Sprint(p["summary"]), "rolled back to revision 1") {
		t.Errorf("trigger payload %v", trig["payload"])
	}

	deploy("web", release{image: "registry.local/web:v2-broken", unready: true}, true)
	count("second failed upgrade, incident open", 1, 1)
	deploy("web", release{image: "registry.local/web:v3"}, false)
	count("good upgrade", 2, 2)
	slack, pd = rcv.Got()
	if !strings.HasPrefix(slack[1], "[shop test] info: upgrade of web (module web_module) rolled out (its upgrade failed since ") {
		t.Errorf("resolve text %q", slack[1])
	}
	if res := pd[1]; res["event_action"] != "resolve" || res["dedup_key"] != dedup {
		t.Errorf("PagerDuty resolve %v, want dedup key %s", res, dedup)
	}
	deploy("web", release{image: "registry.local/web:v4"}, false)
	deploy("api", release{image: "registry.local/api:v1", unready: true}, true)
	count("a good upgrade after the resolve, a failed first install", 2, 2)
}
