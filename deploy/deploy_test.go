// Package deploy_test checks the manifests of deploy/ against a real
// kube-apiserver (internal/devstack): every one passes a server-side dry
// run, and the Roles grant the ServiceAccount the calls the operator makes
// — and not more than the operator needs.
package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/system/clusterstate"
)

var kube *devstack.Kube

func TestMain(m *testing.M) {
	k, err := devstack.StartKube(context.Background(), "", devstack.KubeOptions{APIOnly: true})
	if err != nil {
		// Never skipped: a control plane that cannot start fails the package.
		fmt.Fprintln(os.Stderr, "FAIL: cannot start the Kubernetes API server:", err)
		os.Exit(1)
	}
	kube = k
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, kube.Logs())
	}
	kube.Cleanup()
	os.Exit(code)
}

// object is a manifest and the file it came from.
type object struct {
	file string
	u    *unstructured.Unstructured
}

func (o object) String() string {
	return fmt.Sprintf("%s: %s %s/%s", o.file, o.u.GetKind(), o.u.GetNamespace(), o.u.GetName())
}

// manifests are the objects of deploy/*.yaml (kustomization.yaml lists
// them, it is none) and the ConfigMap system-configmap.sh prints for the
// repository's sys/.
func manifests(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var objs []object
	for _, f := range files {
		if f == "kustomization.yaml" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, decode(t, f, b)...)
	}
	out, err := exec.Command("bash", "system-configmap.sh", "..").Output()
	if err != nil {
		t.Fatalf("system-configmap.sh: %v", err)
	}
	objs = append(objs, decode(t, "system-configmap.sh", out)...)
	if len(objs) < 10 {
		t.Fatalf("only %d objects in deploy/", len(objs))
	}
	return objs
}

func decode(t *testing.T, file string, b []byte) []object {
	t.Helper()
	var objs []object
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var m map[string]any
		if err := d.Decode(&m); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, object{file: file, u: &unstructured.Unstructured{Object: m}})
	}
}

func adminConfig(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// resources is a dynamic client and the server's kinds.
type resources struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

func newResources(t *testing.T, cfg *rest.Config) *resources {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &resources{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
}

func (r *resources) of(u *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := u.GroupVersionKind()
	m, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.dyn.Resource(m.Resource).Namespace(u.GetNamespace()), nil
	}
	return r.dyn.Resource(m.Resource), nil
}

// ensure creates the objects of kinds that do not exist yet.
func ensure(t *testing.T, r *resources, objs []object, kinds ...string) {
	t.Helper()
	for _, o := range objs {
		if !contains(kinds, o.u.GetKind()) {
			continue
		}
		ri, err := r.of(o.u)
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		if _, err := ri.Create(context.Background(), o.u, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("%s: %v", o, err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestManifestsDryRun: every object of deploy/ passes a server-side dry
// run (DryRun: All, strict field validation) — the namespaces, which the
// others need to exist, are then created for real.
func TestManifestsDryRun(t *testing.T) {
	objs := manifests(t)
	r := newResources(t, adminConfig(t))
	ctx := context.Background()
	// Namespaces first: a dry run of a namespaced object needs its
	// namespace.
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].u.GetKind() == "Namespace" && objs[j].u.GetKind() != "Namespace" })
	var kinds []string
	for _, o := range objs {
		ri, err := r.of(o.u)
		if err != nil {
			t.Errorf("%s: %v", o, err)
			continue
		}
		if _, err := ri.Create(ctx, o.u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Errorf("%s: server-side dry run: %v", o, err)
		}
		if o.u.GetKind() == "Namespace" {
			ensure(t, r, []object{o}, "Namespace")
		}
		kinds = append(kinds, o.u.GetKind())
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ConfigMap"} {
		if !contains(kinds, k) {
			t.Errorf("deploy/ has no %s", k)
		}
	}
}

// TestDeploymentRunsTheOperator: three replicas of gxl operate --ha on
// the status port, probed on /healthz, behind a Service of that port,
// with the ServiceAccount the Roles are bound to.
func TestDeploymentRunsTheOperator(t *testing.T) {
	var dep, svc *unstructured.Unstructured
	for _, o := range manifests(t) {
		switch o.u.GetKind() {
		case "Deployment":
			dep = o.u
		case "Service":
			svc = o.u
		}
	}
	if dep == nil || svc == nil {
		t.Fatal("deploy/ lacks the Deployment or the Service")
	}
	// numbers decode as float64 (YAML through JSON): compare their text
	if n, _, _ := unstructured.NestedFieldNoCopy(dep.Object, "spec", "replicas"); fmt.Sprint(n) != "3" {
		t.Errorf("replicas = %v, want 3", n)
	}
	if sa, _, _ := unstructured.NestedString(dep.Object, "spec", "template", "spec", "serviceAccountName"); sa != "gxl-operator" {
		t.Errorf("serviceAccountName = %q", sa)
	}
	cs, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("%d containers", len(cs))
	}
	c := cs[0].(map[string]any)
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	cmd := strings.Join(args, " ")
	for _, want := range []string{"gxl operate --ha ", "--listen 0.0.0.0:9464", "sys/workflows/operators.gxl"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("the container runs %q, without %q", cmd, want)
		}
	}
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		if p, _, _ := unstructured.NestedString(c, probe, "httpGet", "path"); p != "/healthz" {
			t.Errorf("%s on %q, want /healthz", probe, p)
		}
	}
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if len(ports) != 1 || fmt.Sprint(ports[0].(map[string]any)["port"]) != "9464" {
		t.Errorf("the Service's ports are %v, want 9464", ports)
	}
}

// operatorConfig is a client of the API server impersonating the
// ServiceAccount of deploy/rbac.yaml.
func operatorConfig(t *testing.T) *rest.Config {
	cfg := rest.CopyConfig(adminConfig(t))
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:gxl:gxl-operator",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:gxl", "system:authenticated"},
	}
	return cfg
}

// TestRoleGrantsOperatorCalls: with deploy/'s namespaces and RBAC objects
// applied, a client impersonating the ServiceAccount makes the calls the
// operator makes — leader election on the Lease (client-go's
// resourcelock: get, create, update), the run state's ConfigMaps, the
// example system's stages (k8s.apply, get, delete, rollback) — and is
// refused what it does not need.
func TestRoleGrantsOperatorCalls(t *testing.T) {
	objs := manifests(t)
	admin := newResources(t, adminConfig(t))
	ensure(t, admin, objs, "Namespace")
	ensure(t, admin, objs, "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")

	cfg := operatorConfig(t)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The authorizer sees new bindings within moments: wait for the first.
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, "gxl", "gxl-operator", cs.CoreV1(), cs.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: "gxl-operator-0"})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, _, err = lock.Get(ctx)
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			break
		}
	}
	if !apierrors.IsNotFound(err) {
		t.Fatalf("lease get: %v, want not found", err)
	}

	// Leader election: what tools/leaderelection does to acquire, renew
	// and release.
	now := metav1.NewTime(time.Now())
	rec := resourcelock.LeaderElectionRecord{HolderIdentity: "gxl-operator-0", LeaseDurationSeconds: 15, AcquireTime: now, RenewTime: now}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	step("lease create", lock.Create(ctx, rec))
	_, _, err = lock.Get(ctx)
	step("lease get", err)
	rec.RenewTime = metav1.NewTime(time.Now())
	step("lease update", lock.Update(ctx, rec))

	// The run state: the cluster store itself (system/clusterstate) as the
	// ServiceAccount, through every call it makes — a run created, records
	// synced, compacted into chunks, read, listed, named last, removed.
	st, err := clusterstate.New(clusterstate.Config{Namespace: "gxl", Rest: cfg, ChunkSize: 4 << 10, CompactMin: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	id := runtime.NewRunID()
	l, err := st.Create(id)
	step("run state create", err)
	if err == nil {
		rec := []byte(`{"ev":"run","header":{"file":"work.gxl"}}` + "\n" + strings.Repeat(`{"ev":"done","addr":"main.f/0"}`+"\n", 600))
		_, err = l.Write(rec)
		step("run state write", err)
		step("run state sync", l.Sync())
		step("run state compact", l.Replace(rec))
		step("run state close", l.Close())
		got, err := st.Read(id)
		step("run state read", err)
		if err == nil && string(got) != string(rec) {
			t.Errorf("run state read back %d bytes, want %d", len(got), len(rec))
		}
		ids, err := st.List()
		step("run state list", err)
		if err == nil && !slices.Contains(ids, id) {
			t.Errorf("run state list: %v lacks %s", ids, id)
		}
		step("run state set last", st.SetLast(id))
		_, err = st.Last()
		step("run state last", err)
		step("run state remove", st.Remove(id))
	}

	// The example system's stages, in its namespace, as the k8s built-ins
	// call the API server.
	r := newResources(t, cfg)
	stage := []string{
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"microservices","labels":{"environment":"test"}}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"user-service","namespace":"microservices"},"data":{"ENVIRONMENT":"test"}}`,
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"user-service","namespace":"microservices"},"spec":{"selector":{"app":"user-service"},"ports":[{"port":80}]}}`,
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"user-service","namespace":"microservices"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"user-service"}},"template":{"metadata":{"labels":{"app":"user-service"}},"spec":{"containers":[{"name":"app","image":"user-service:1"}]}}}}`,
		`{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"user-service","namespace":"microservices"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"user-service"},"minReplicas":1,"maxReplicas":3}}`,
	}
	var applied []*unstructured.Unstructured
	for _, js := range stage {
		u := decode(t, "stage", []byte(js))[0].u
		ri, err := r.of(u)
		if err != nil {
			t.Errorf("%s: %v", u.GetKind(), err)
			continue
		}
		// k8s.apply: get, then server-side apply (field manager gxl).
		if _, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("k8s.get %s: %v", u.GetKind(), err)
		}
		if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "gxl", Force: true}); err != nil {
			t.Errorf("k8s.apply %s: %v", u.GetKind(), err)
			continue
		}
		// and again, now that it exists (a second deploy).
		if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "gxl", Force: true}); err != nil {
			t.Errorf("k8s.apply %s again: %v", u.GetKind(), err)
		}
		applied = append(applied, u)
	}
	// k8s.get / k8s.exists of an object read again and again: list it by
	// name, watch it from there (stdlib/k8s/watch.go).
	for _, u := range applied {
		if k := u.GetKind(); k != "Service" && k != "Deployment" {
			continue
		}
		ri, _ := r.of(u)
		sel := "metadata.name=" + u.GetName()
		list, err := ri.List(ctx, metav1.ListOptions{FieldSelector: sel})
		step("k8s.get "+u.GetKind()+" list", err)
		if err == nil {
			w, err := ri.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: list.GetResourceVersion()})
			step("k8s.get "+u.GetKind()+" watch", err)
			if err == nil {
				w.Stop()
			}
		}
	}
	// k8s.revision / k8s.rollback: list the ReplicaSets, patch the
	// Deployment's template.
	rs := r.dyn.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}).Namespace("microservices")
	_, err = rs.List(ctx, metav1.ListOptions{})
	step("replicasets list", err)
	deps := r.dyn.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace("microservices")
	_, err = deps.Patch(ctx, "user-service", k8stypes.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"user-service:0"}]`), metav1.PatchOptions{FieldManager: "gxl"})
	step("rollback patch", err)
	// k8s.delete (the namespace stays).
	for _, u := range applied {
		if u.GetKind() == "Namespace" {
			continue
		}
		ri, _ := r.of(u)
		step("k8s.delete "+u.GetKind(), ri.Delete(ctx, u.GetName(), metav1.DeleteOptions{}))
	}

	// Least privilege: what the operator never does is refused.
	lease := coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}}
	for _, c := range []struct {
		what string
		call func() error
	}{
		{"delete the Lease", func() error {
			return cs.CoordinationV1().Leases("gxl").Delete(ctx, "gxl-operator", metav1.DeleteOptions{})
		}},
		{"create a Lease in another namespace", func() error {
			_, err := cs.CoordinationV1().Leases("default").Create(ctx, &lease, metav1.CreateOptions{})
			return err
		}},
		{"list the Secrets", func() error { _, err := cs.CoreV1().Secrets("gxl").List(ctx, metav1.ListOptions{}); return err }},
		{"read the operator's own Deployment", func() error {
			_, err := cs.AppsV1().Deployments("gxl").Get(ctx, "gxl-operator", metav1.GetOptions{})
			return err
		}},
		{"write ConfigMaps in another namespace", func() error {
			_, err := cs.CoreV1().ConfigMaps("default").Create(ctx, configMap("x"), metav1.CreateOptions{})
			return err
		}},
		{"create a namespace", func() error {
			_, err := r.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx,
				decode(t, "x", []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"other"}}`))[0].u, metav1.CreateOptions{})
			return err
		}},
		{"read another namespace", func() error {
			_, err := cs.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
			return err
		}},
		{"list the system's Pods", func() error { _, err := cs.CoreV1().Pods("microservices").List(ctx, metav1.ListOptions{}); return err }},
	} {
		if err := c.call(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want forbidden", c.what, err)
		}
	}
}

func configMap(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"journal": "1"}}
}
