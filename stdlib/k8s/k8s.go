// Package k8s implements the k8s.* built-ins with k8s.io/client-go:
// server-side apply (field manager gxl) of files, folders or rendered text,
// rollout waits, scale, get, delete, the revision a Deployment runs, a
// rollback to the previous or a recorded revision, and a server-side
// dry-run diff. Kubeconfig follows the standard loading rules
// (KUBECONFIG, a kubeconfig argument, a context argument).
package k8s

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/transport"

	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// FieldManager is the server-side apply field manager of gxl.
const FieldManager = "gxl"

func common() []builtin.Param {
	return []builtin.Param{
		{Name: "kubeconfig", Type: types.String, Doc: "kubeconfig file (default: the KUBECONFIG variable or environment variable, else ~/.kube/config)"},
		{Name: "context", Type: types.String, Doc: "kubeconfig context"},
		{Name: "namespace", Type: types.String, Doc: "namespace (default: the object's or the context's)"},
		{Name: "timeout", Type: types.Duration, Default: value.Str("2m"), Doc: "give up after this long (0: no limit)"},
	}
}

func with(ps ...builtin.Param) []builtin.Param { return append(ps, common()...) }

// Register adds the k8s.* built-ins.
func Register(r *builtin.Registry) {
	source := []builtin.Param{
		{Name: "file", Type: types.String, Positional: true, Doc: "manifest file or folder (.yaml, .yml, .json)"},
		{Name: "text", Type: types.String, Doc: "manifest text (e.g. rendered by gx.tpl)"},
	}
	kindName := []builtin.Param{
		{Name: "kind", Type: types.String, Required: true, Doc: "resource kind: deployment, statefulset, pod, configmap, ..."},
		{Name: "name", Type: types.String, Required: true, Positional: true, Doc: "object name"},
	}
	r.Add(&builtin.Builtin{
		Name: "k8s.apply", Doc: "Server-side apply (field manager gxl) of manifests; reports created/configured/unchanged; optional prune by label.",
		Where: builtin.InBlock, Effect: builtin.Changes, SetsVars: builtin.OutVar("K8S_APPLIED"),
		Params: with(append(source,
			builtin.Param{Name: "prune", Type: types.Bool, Doc: "delete objects with the selector label that the manifests no longer contain"},
			builtin.Param{Name: "selector", Type: types.String, Doc: "label selector for prune (required with prune)"},
			builtin.Param{Name: "out", Type: types.String, Default: value.Str("K8S_APPLIED"), Doc: "variable set to {created, configured, unchanged, pruned}"})...),
		Run: runApply, Diff: diffApply,
	})
	r.Add(&builtin.Builtin{
		Name: "k8s.diff", Doc: "Server-side dry-run apply: print and return the objects that would change.",
		Where: builtin.InBlock, Effect: builtin.Reads, SetsVars: builtin.OutVar("K8S_DIFF"),
		Params: with(append(source, builtin.Param{Name: "out", Type: types.String, Default: value.Str("K8S_DIFF"), Doc: "variable set to the list of changed objects"})...),
		Run:    runDiff,
	})
	r.Add(&builtin.Builtin{
		Name: "k8s.wait", Doc: "Wait for a Deployment/StatefulSet rollout, pod readiness or an arbitrary condition.",
		Where: builtin.InBlock, Effect: builtin.Reads,
		Params: with(append(kindName, builtin.Param{Name: "for", Type: types.String, Default: value.Str("rollout"),
			Doc: "rollout, ready, or condition=Type[=Status]"})...),
		Run: runWait,
	})
	r.Add(&builtin.Builtin{
		Name: "k8s.scale", Doc: "Set the replicas of a Deployment or StatefulSet (scale subresource).",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: with(append(kindName, builtin.Param{Name: "replicas", Type: types.Int, Required: true, Doc: "desired replicas"})...),
		Run:    runScale,
	})
	r.Add(&builtin.Builtin{
		Name: "k8s.get", Doc: "Read an object into a variable. An object this process reads again within a minute is then read from a watch of it (list and watch by name; a get where refused); every write of the process (k8s.apply, k8s.delete, ...) ends the watches, so a read after it sees it.",
		Where: builtin.InBlock, Effect: builtin.Reads, SetsVars: builtin.OutVar("K8S_OBJECT"),
		Params: with(append(kindName, builtin.Param{Name: "out", Type: types.String, Default: value.Str("K8S_OBJECT"), Doc: "variable to set"})...),
		Run:    runGet,
	})
	r.Add(&builtin.Builtin{
		Name: "k8s.exists", Doc: "Whether an object exists (true or false into a variable): a module's first deployment is one whose objects do not exist yet.",
		Where: builtin.InBlock, Effect: builtin.Reads, SetsVars: builtin.OutVar("K8S_EXISTS"),
		Params: with(append(kindName, builtin.Param{Name: "out", Type: types.String, Default: value.Str("K8S_EXISTS"), Doc: "variable set to true or false"})...),
		Run:    runExists,
	})
	r.Add(&builtin.Builtin{
		Name: "k8s.delete", Doc: "Delete an object (missing objects are not an error).",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: with(kindName...), Run: runDelete,
	})
	deployment := builtin.Param{Name: "name", Type: types.String, Required: true, Positional: true, Doc: "deployment name"}
	r.Add(&builtin.Builtin{
		Name: "k8s.revision", Doc: "Record the revision a Deployment runs now, once its controller has seen its current spec: {revision, hash} (revision 0 and hash \"\" when there is no such Deployment). k8s.rollback(hash: ...) returns to it later, even after a rollback renumbered the revisions.",
		Where: builtin.InBlock, Effect: builtin.Reads, SetsVars: builtin.OutVar("K8S_REVISION"),
		Params: with(deployment, builtin.Param{Name: "out", Type: types.String, Default: value.Str("K8S_REVISION"),
			Doc: "variable set to {revision, hash}: the deployment.kubernetes.io/revision number and the pod-template-hash of its ReplicaSet"}),
		Run: runRevision,
	})
	r.Add(&builtin.Builtin{
		Name: "k8s.rollback", Doc: "Roll a Deployment back to an earlier ReplicaSet revision (like kubectl rollout undo): the one before the current, or the one given by revision or hash; with wait, until that revision has rolled out. A Deployment already at that revision is left as it is (and waited for).",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: with(deployment,
			builtin.Param{Name: "revision", Type: types.Int, Doc: "revision number to return to (kubectl rollout history; 0: the one before the current)"},
			builtin.Param{Name: "hash", Type: types.String, Doc: "pod-template-hash of the revision to return to, as k8s.revision records it (survives the renumbering a rollback does)"},
			builtin.Param{Name: "wait", Type: types.Bool, Doc: "wait until the revision has rolled out (all replicas updated, ready and available) within timeout; one that cannot is an error"}),
		Run: runRollback,
	})
}

// client bundles what the built-ins need.
type client struct {
	*conn
	namespace string
	server    string
}

func newClient(c builtin.Ctx, a builtin.Args) (*client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if p := a.Str("kubeconfig"); p != "" {
		rules.ExplicitPath = p
	} else if v, ok := c.Lookup("KUBECONFIG"); ok && v.String() != "" {
		// A GXL variable (read from a settings file, say) counts like the
		// environment variable: child processes see it the same way.
		rules.ExplicitPath = v.String()
	}
	cfg, ns, err := loadKubeconfig(rules, a.Str("context"))
	if err != nil {
		return nil, err
	}
	if a.Str("namespace") != "" {
		ns = a.Str("namespace")
	}
	if ns == "" {
		ns = "default"
	}
	return clientFor(cfg, ns)
}

// kubeconfig is the client settings read from kubeconfig files (a copy
// is handed out: the caller may change it).
type kubeconfig struct {
	files [][]byte // the contents of the files read, nil for a missing one
	cfg   *rest.Config
	ns    string
}

// kubeconfigs are the settings read by this process, by the files and
// the context; kubeconfigLoads counts the reads (tests).
var (
	kubeconfigs     sync.Map
	kubeconfigLoads atomic.Int64
)

// loadKubeconfig reads the client settings and the default namespace of
// rules' kubeconfig files and context, or gives those read before while
// every file reads the same bytes: a probe that asks the cluster every
// second parsed the same kubeconfig each time. Without any kubeconfig
// file (in-cluster settings) it reads them every time.
func loadKubeconfig(rules *clientcmd.ClientConfigLoadingRules, ctxName string) (*rest.Config, string, error) {
	paths := rules.GetLoadingPrecedence()
	key := strings.Join(paths, "\x00") + "\x00" + ctxName
	files := make([][]byte, len(paths))
	any := false
	for i, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			files[i], any = b, true
		}
	}
	if v, ok := kubeconfigs.Load(key); ok && any {
		k := v.(*kubeconfig)
		if slices.EqualFunc(k.files, files, bytes.Equal) {
			return rest.CopyConfig(k.cfg), k.ns, nil
		}
	}
	kubeconfigLoads.Add(1)
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: ctxName})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.Timeout = requestTimeout
	// client-go's default limiter (5 requests/s, bursts of 10) is slower
	// than k8s.wait's polling (10/s): its Wait then fails with "would
	// exceed context deadline" before the real deadline. kubectl's values.
	cfg.QPS, cfg.Burst = 50, 300
	ns, _, _ := cc.Namespace()
	if any {
		kubeconfigs.Store(key, &kubeconfig{files: files, cfg: rest.CopyConfig(cfg), ns: ns})
	}
	return cfg, ns, nil
}

// conn is what a client keeps across calls for one cluster and
// credentials: the dynamic client and the kinds the server serves (its
// discovery, cached). A flow that reads the cluster every second (gxl
// operate's probes) would otherwise fetch the whole discovery document on
// each call: two thirds of the CPU of a k8s.get.
type conn struct {
	dyn    dynamic.Interface
	cached discovery.CachedDiscoveryInterface
	mapper meta.RESTMapper
	kinds  *sync.Map // kind name (lower case) → kindInfo (target)
	reads  *objCache // the objects k8s.get and k8s.exists read again and again
}

// conns are the connections of this process, by connKey.
var conns sync.Map

// connKey identifies a cluster and the credentials used on it (and the
// user they impersonate).
func connKey(cfg *rest.Config) string {
	h := sha256.New()
	for _, s := range []string{cfg.Host, cfg.APIPath, cfg.Username, cfg.Password, cfg.BearerToken, cfg.BearerTokenFile,
		cfg.CertFile, cfg.KeyFile, cfg.CAFile, string(cfg.CertData), string(cfg.KeyData), string(cfg.CAData), cfg.ServerName, fmt.Sprint(cfg.Insecure),
		cfg.Impersonate.UserName, cfg.Impersonate.UID, strings.Join(cfg.Impersonate.Groups, ","), fmt.Sprint(cfg.Impersonate.Extra)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func clientFor(cfg *rest.Config, ns string) (*client, error) {
	key := connKey(cfg)
	if c, ok := conns.Load(key); ok {
		return &client{conn: c.(*conn), namespace: ns, server: cfg.Host}, nil
	}
	host := cfg.Host
	reads := newObjCache()
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(reads.writes)
	rt, err := roundTripperFor(cfg)
	if err != nil {
		return nil, err
	}
	requests := &http.Client{Transport: rt, Timeout: cfg.Timeout}
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, requests)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(dc)
	mapper := restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(cached), cached, nil)
	dyn, err := dynamic.NewForConfigAndClient(cfg, requests)
	if err != nil {
		return nil, err
	}
	// Watches end on the server's clock (watchFor), not the client's
	// request timeout, which would cut every watch after 30 s. They share
	// the connections (and their health check) of the requests.
	wcfg := rest.CopyConfig(cfg)
	wcfg.Timeout = 0
	if reads.watches, err = dynamic.NewForConfigAndClient(wcfg, &http.Client{Transport: rt, Timeout: wcfg.Timeout}); err != nil {
		return nil, err
	}
	c, _ := conns.LoadOrStore(key, &conn{dyn: dyn, cached: cached, mapper: mapper, kinds: &sync.Map{}, reads: reads})
	return &client{conn: c.(*conn), namespace: ns, server: host}, nil
}

// requestTimeout bounds a request to the API server (not a watch); a
// variable so that a test can make it short.
var requestTimeout = 30 * time.Second

// A connection to an API server on which no frame arrived for pingAfter
// is sent an HTTP/2 PING; one that does not answer within pingTimeout is
// closed, and every request and watch on it fails. A connection cut
// silently (a partition, a dropped NAT entry, a frozen host: no FIN, no
// RST) thus fails within pingAfter+pingTimeout = 10 s: a watched object
// (objCache) is dropped by then and the next read is live, on a new
// connection; a GET sent on it fails by then (client-go retries a GET
// whose connection was lost) instead of waiting out requestTimeout.
// client-go's defaults (30 s + 15 s, env HTTP2_READ_IDLE_TIMEOUT_SECONDS
// and HTTP2_PING_TIMEOUT_SECONDS) let gxl operate's probes, which read
// their Service from a watch twice a second, act on a copy up to 45 s
// old. The cost: a PING frame (17 bytes each way) every 5 s on an idle
// connection, one per cluster. The API server answers PINGs in its
// connection's read loop, not behind its request handlers, so a busy
// server still answers in milliseconds; 5 s leaves room for a slow link.
// An API server reached over plain HTTP/1.1 (http://, DISABLE_HTTP2) has
// no such check.
const (
	pingAfter   = 5 * time.Second
	pingTimeout = 5 * time.Second
)

// roundTripperFor builds the transport of a connection as client-go's
// rest.TransportFor does (TLS, proxy, exec and auth plugins, bearer
// token, impersonation, cfg's wrappers), with the HTTP/2 health check of
// pingAfter and pingTimeout. Unlike client-go's cached transports, it
// does not close open connections when client certificate files change
// (new connections read them again) nor reload a CA file.
func roundTripperFor(cfg *rest.Config) (http.RoundTripper, error) {
	tc, err := cfg.TransportConfig()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := transport.TLSConfigFor(tc)
	if err != nil {
		return nil, err
	}
	t := &http.Transport{
		Proxy:               tc.Proxy,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     tlsCfg,
		MaxIdleConnsPerHost: 25, // client-go's
		DisableCompression:  tc.DisableCompression,
		// Read by golang.org/x/net/http2 (which SetTransportDefaults
		// configures) over its own ReadIdleTimeout and PingTimeout, and
		// by net/http's HTTP/2.
		HTTP2: &http.HTTP2Config{SendPingTimeout: pingAfter, PingTimeout: pingTimeout},
	}
	if tc.DialHolder != nil {
		t.DialContext = tc.DialHolder.Dial
	} else {
		t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return transport.HTTPWrappersForConfig(tc, utilnet.SetTransportDefaults(t))
}

// fresh reads the kinds the server serves again: a kind the cached
// discovery does not know may have been added since (a CRD applied).
func (k *client) fresh() {
	if k.cached != nil {
		k.cached.Invalidate()
	}
	k.kinds.Clear()
}

// resource finds the dynamic resource of an object.
func (k *client) resource(gvk schema.GroupVersionKind, ns string) (dynamic.ResourceInterface, *meta.RESTMapping, error) {
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		k.fresh()
		m, err = k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("unknown kind %s: %w", gvk.Kind, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if ns == "" {
			ns = k.namespace
		}
		return k.dyn.Resource(m.Resource).Namespace(ns), m, nil
	}
	return k.dyn.Resource(m.Resource), m, nil
}

// byKind resolves a kind name such as "deployment" or "deploy".
func (k *client) byKind(kind, ns string) (dynamic.ResourceInterface, error) {
	r, _, err := k.target(kind, ns, "")
	return r, err
}

// kindInfo is what a kind name resolves to.
type kindInfo struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}

// target resolves a kind name and the namespace argument to the dynamic
// resource and the key of an object (namespace: "" for a cluster-scoped
// kind). A kind name resolved once is kept with the connection until its
// discovery is read again (fresh): resolving it through the REST mapper
// walks every resource the server serves, a third of a k8s.get.
func (k *client) target(kind, ns, name string) (dynamic.ResourceInterface, objKey, error) {
	lkind := strings.ToLower(kind)
	var ki kindInfo
	if v, ok := k.kinds.Load(lkind); ok {
		ki = v.(kindInfo)
	} else {
		gvr, err := k.mapper.ResourceFor(schema.GroupVersionResource{Resource: lkind})
		if err != nil {
			k.fresh()
			gvr, err = k.mapper.ResourceFor(schema.GroupVersionResource{Resource: lkind})
		}
		if err != nil {
			return nil, objKey{}, fmt.Errorf("unknown kind %q: %w", kind, err)
		}
		gvk, err := k.mapper.KindFor(gvr)
		if err != nil {
			return nil, objKey{}, err
		}
		m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, objKey{}, fmt.Errorf("unknown kind %s: %w", gvk.Kind, err)
		}
		ki = kindInfo{gvr: m.Resource, namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace}
		k.kinds.Store(lkind, ki)
	}
	if !ki.namespaced {
		return k.dyn.Resource(ki.gvr), objKey{gvr: ki.gvr, name: name}, nil
	}
	if ns == "" {
		ns = k.namespace
	}
	return k.dyn.Resource(ki.gvr).Namespace(ns), objKey{gvr: ki.gvr, ns: ns, name: name}, nil
}

// readObjects reads manifests from a file, a folder or text.
func readObjects(c builtin.Ctx, a builtin.Args) ([]*unstructured.Unstructured, error) {
	var docs []io.Reader
	var names []string
	if t := a.Str("text"); t != "" {
		docs = append(docs, strings.NewReader(t))
		names = append(names, "text")
	}
	if f := a.Str("file"); f != "" {
		if !filepath.IsAbs(f) {
			f = filepath.Join(c.Dir(), f)
		}
		st, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		var files []string
		if st.IsDir() {
			filepath.Walk(f, func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					switch strings.ToLower(filepath.Ext(p)) {
					case ".yaml", ".yml", ".json":
						files = append(files, p)
					}
				}
				return nil
			})
			sort.Strings(files)
		} else {
			files = []string{f}
		}
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			docs = append(docs, bytes.NewReader(b))
			names = append(names, p)
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("give file (a manifest file or folder) or text")
	}
	var out []*unstructured.Unstructured
	for i, r := range docs {
		dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("%s: %w", names[i], err)
			}
			if len(m) == 0 {
				continue
			}
			u := &unstructured.Unstructured{Object: m}
			if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
				return nil, fmt.Errorf("%s: a manifest lacks apiVersion, kind or metadata.name", names[i])
			}
			out = append(out, u)
		}
	}
	// Namespaces first, so namespaced objects find theirs.
	sort.SliceStable(out, func(i, j int) bool { return out[i].GetKind() == "Namespace" && out[j].GetKind() != "Namespace" })
	return out, nil
}

func describe(u *unstructured.Unstructured) string {
	s := strings.ToLower(u.GetKind()) + "/" + u.GetName()
	if u.GetNamespace() != "" {
		s = u.GetNamespace() + "/" + s
	}
	return s
}

// applyOne applies u (server-side, or as a dry run that changes nothing)
// and says whether it was created, configured or unchanged, with the
// object before (nil when absent) and after.
func applyOne(ctx context.Context, k *client, u *unstructured.Unstructured, dryRun bool) (string, *unstructured.Unstructured, *unstructured.Unstructured, error) {
	r, m, err := k.resource(u.GroupVersionKind(), u.GetNamespace())
	if err != nil {
		return "", nil, nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace && u.GetNamespace() == "" {
		u.SetNamespace(k.namespace)
	}
	before, err := r.Get(ctx, u.GetName(), metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return "", nil, nil, fmt.Errorf("%s: %w", describe(u), err)
	}
	if err != nil {
		before = nil
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	after, err := r.Apply(ctx, u.GetName(), u, opts)
	if err != nil {
		return "", before, nil, fmt.Errorf("apply %s: %w", describe(u), err)
	}
	// Compare content, not resourceVersion: controllers write status and
	// bookkeeping annotations at any time, which bumps resourceVersion
	// without anything of ours changing.
	switch {
	case before == nil:
		return "created", nil, after, nil
	case reflect.DeepEqual(content(before), content(after)):
		return "unchanged", before, after, nil
	}
	return "configured", before, after, nil
}

// content is an object without server bookkeeping and status.
func content(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy().Object
	delete(c, "status")
	if md, ok := c["metadata"].(map[string]any); ok {
		for _, k := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp"} {
			delete(md, k)
		}
		if ann, ok := md["annotations"].(map[string]any); ok {
			delete(ann, revisionAnnotation)
			if len(ann) == 0 {
				delete(md, "annotations")
			}
		}
	}
	return c
}

func runApply(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	objs, err := readObjects(c, a)
	if err != nil {
		return err
	}
	k, err := newClient(c, a)
	if err != nil {
		return err
	}
	counts := map[string]int64{}
	applied := map[string]bool{}
	for _, u := range objs {
		res, _, _, err := applyOne(ctx, k, u, false)
		if err != nil {
			return fmt.Errorf("k8s.apply (%s): %w", k.server, err)
		}
		counts[res]++
		applied[describe(u)] = true
		c.Logf("k8s.apply %s %s", describe(u), res)
	}
	if a.Bool("prune") {
		sel := a.Str("selector")
		if sel == "" {
			return fmt.Errorf("k8s.apply: prune needs a selector, e.g. selector: \"app.kubernetes.io/part-of=shop\"")
		}
		n, err := prune(ctx, k, objs, sel, applied, c)
		if err != nil {
			return err
		}
		counts["pruned"] = n
	}
	o := value.NewObject()
	for _, key := range []string{"created", "configured", "unchanged", "pruned"} {
		o.Set(key, value.Int(counts[key]))
	}
	c.Set(a.Str("out"), value.Obj(o))
	return nil
}

// prune deletes objects of the applied kinds that carry the selector but
// were not in the manifests.
func prune(ctx context.Context, k *client, objs []*unstructured.Unstructured, sel string, applied map[string]bool, c builtin.Ctx) (int64, error) {
	seen := map[string]bool{}
	var n int64
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		key := gvk.String() + "|" + u.GetNamespace()
		if seen[key] {
			continue
		}
		seen[key] = true
		r, _, err := k.resource(gvk, u.GetNamespace())
		if err != nil {
			return n, err
		}
		list, err := r.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return n, err
		}
		for i := range list.Items {
			item := &list.Items[i]
			item.SetKind(gvk.Kind)
			if applied[describe(item)] {
				continue
			}
			if err := r.Delete(ctx, item.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return n, err
			}
			c.Logf("k8s.apply pruned %s", describe(item))
			n++
		}
	}
	return n, nil
}

func runDiff(c builtin.Ctx, a builtin.Args) error {
	changes, err := diffApply(c, a)
	if err != nil {
		return fmt.Errorf("k8s.diff: %w", err)
	}
	var changed []value.Value
	for _, ch := range changes {
		if ch.Action != "unchanged" {
			changed = append(changed, value.Str(ch.Object+" "+ch.Action))
			fmt.Fprintf(c.Stdout(), "~ %s (%s)\n", ch.Object, ch.Action)
		}
	}
	c.Set(a.Str("out"), value.List(changed...))
	return nil
}

// diffApply is the Diff of k8s.apply (and what k8s.diff prints): a
// server-side dry run (DryRun All) of each manifest, which the API server
// validates, defaults and admits without storing anything, compared with
// the object stored now. Pruning is not previewed.
func diffApply(c builtin.Ctx, a builtin.Args) ([]builtin.Change, error) {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	objs, err := readObjects(c, a)
	if err != nil {
		return nil, err
	}
	k, err := newClient(c, a)
	if err != nil {
		return nil, err
	}
	var out []builtin.Change
	for _, u := range objs {
		res, before, after, err := applyOne(ctx, k, u, true)
		if err != nil {
			// A namespaced object whose namespace the same apply creates:
			// the dry run cannot see the namespace, the object is new.
			if before == nil && (apierrors.IsNotFound(err) || strings.Contains(err.Error(), "not found")) {
				out = append(out, builtin.Change{Object: describe(u), Action: "created"})
				continue
			}
			return out, fmt.Errorf("%s: %w", k.server, err)
		}
		ch := builtin.Change{Object: describe(u), Action: res}
		if res == "configured" {
			ch.Fields = fieldDiff(content(before), content(after), "", u.GetKind() == "Secret")
		}
		out = append(out, ch)
	}
	return out, nil
}

// fieldDiff lists the fields that differ between two objects, by path
// (spec.replicas, metadata.labels.app, spec.ports[0].port), values as
// JSON; a Secret's data and stringData are never shown.
func fieldDiff(before, after map[string]any, prefix string, secret bool) []builtin.FieldChange {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []builtin.FieldChange
	for _, k := range names {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		b, inB := before[k]
		x, inA := after[k]
		if inB && inA && reflect.DeepEqual(b, x) {
			continue
		}
		bm, bok := b.(map[string]any)
		am, aok := x.(map[string]any)
		if bok && aok {
			out = append(out, fieldDiff(bm, am, path, secret)...)
			continue
		}
		fc := builtin.FieldChange{Path: path}
		if secret && (path == "data" || path == "stringData" || strings.HasPrefix(path, "data.") || strings.HasPrefix(path, "stringData.")) {
			fc.Before, fc.After = "(sensitive)", "(sensitive)"
		} else {
			if inB {
				fc.Before = jsonText(b)
			}
			if inA {
				fc.After = jsonText(x)
			}
		}
		out = append(out, fc)
	}
	return out
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// status reads an int64 status field.
func field(u *unstructured.Unstructured, path ...string) int64 {
	v, _, _ := unstructured.NestedInt64(u.Object, path...)
	return v
}

// rolloutDone reports whether a Deployment or StatefulSet finished rolling out.
func rolloutDone(u *unstructured.Unstructured) (bool, string) {
	want := field(u, "spec", "replicas")
	if _, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); !found {
		want = 1
	}
	gen, obs := u.GetGeneration(), field(u, "status", "observedGeneration")
	upd, ready, avail := field(u, "status", "updatedReplicas"), field(u, "status", "readyReplicas"), field(u, "status", "availableReplicas")
	total := field(u, "status", "replicas")
	msg := fmt.Sprintf("generation %d/%d, updated %d/%d, ready %d/%d", obs, gen, upd, want, ready, want)
	if obs < gen || upd < want || ready < want || total > want {
		return false, msg
	}
	if u.GetKind() == "Deployment" && avail < want {
		return false, msg + fmt.Sprintf(", available %d/%d", avail, want)
	}
	return true, msg
}

func conditionTrue(u *unstructured.Unstructured, typ, status string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if fmt.Sprint(m["type"]) == typ && strings.EqualFold(fmt.Sprint(m["status"]), status) {
			return true
		}
	}
	return false
}

// kindResource connects and resolves the kind argument of a call.
func kindResource(c builtin.Ctx, a builtin.Args) (*client, dynamic.ResourceInterface, error) {
	k, err := newClient(c, a)
	if err != nil {
		return nil, nil, err
	}
	r, err := k.byKind(a.Str("kind"), a.Str("namespace"))
	return k, r, err
}

func runWait(c builtin.Ctx, a builtin.Args) error {
	name, cond := a.Str("name"), a.Str("for")
	var reached func(u *unstructured.Unstructured) (bool, string)
	switch {
	case cond == "rollout":
		reached = rolloutDone
	case cond == "ready":
		reached = func(u *unstructured.Unstructured) (bool, string) {
			return conditionTrue(u, "Ready", "True"), "not Ready"
		}
	case strings.HasPrefix(cond, "condition="):
		typ, status, ok := strings.Cut(strings.TrimPrefix(cond, "condition="), "=")
		if !ok {
			status = "True"
		}
		reached = func(u *unstructured.Unstructured) (bool, string) {
			return conditionTrue(u, typ, status), "condition " + typ + " is not " + status
		}
	default:
		return fmt.Errorf("k8s.wait: for must be rollout, ready or condition=Type[=Status], not %q", cond)
	}
	k, r, err := kindResource(c, a)
	if err != nil {
		return err
	}
	began := time.Now()
	what := fmt.Sprintf("%s/%s (%s) to reach %s", a.Str("kind"), name, k.server, cond)
	err = retry.Poll(c.Context(), 100*time.Millisecond, a.Duration("timeout"), what, func(ctx context.Context) (bool, error) {
		u, err := r.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, errors.New("not found yet")
		}
		if err != nil {
			return false, err
		}
		done, why := reached(u)
		return done, reason(done, why)
	})
	if err != nil {
		return err
	}
	c.Logf("k8s.wait %s/%s: %s after %s", a.Str("kind"), name, cond, time.Since(began).Round(time.Millisecond))
	return nil
}

// reason is why a wait goes on: nil once done.
func reason(done bool, why string) error {
	if done || why == "" {
		return nil
	}
	return errors.New(why)
}

func runScale(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	_, r, err := kindResource(c, a)
	if err != nil {
		return err
	}
	patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, a.Int("replicas")))
	if _, err := r.Patch(ctx, a.Str("name"), k8stypes.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}, "scale"); err != nil {
		return fmt.Errorf("k8s.scale %s/%s: %w", a.Str("kind"), a.Str("name"), err)
	}
	c.Logf("k8s.scale %s/%s to %d", a.Str("kind"), a.Str("name"), a.Int("replicas"))
	return nil
}

func runGet(c builtin.Ctx, a builtin.Args) error {
	v, err := readObject(c, a)
	if err != nil {
		return fmt.Errorf("k8s.get %s/%s: %w", a.Str("kind"), a.Str("name"), err)
	}
	c.Set(a.Str("out"), v)
	return nil
}

// readObject reads the object of a k8s.get or k8s.exists call: from the
// watch this process keeps of it, or from the API server (objCache).
func readObject(c builtin.Ctx, a builtin.Args) (value.Value, error) {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	k, err := newClient(c, a)
	if err != nil {
		return value.Value{}, err
	}
	r, key, err := k.target(a.Str("kind"), a.Str("namespace"), a.Str("name"))
	if err != nil {
		return value.Value{}, err
	}
	return k.reads.read(ctx, r, key)
}

// toValue converts an object read from the API server to a GXL value
// (numbers as JSON has them).
func toValue(u *unstructured.Unstructured) (value.Value, error) {
	b, err := json.Marshal(u.Object)
	if err != nil {
		return value.Value{}, err
	}
	var x any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return value.Value{}, err
	}
	return value.FromGo(x)
}

// runExists: a NotFound answer is false; any other error (the server
// unreachable, no such kind) fails the step, so a server that cannot be
// asked is never taken for an empty one.
func runExists(c builtin.Ctx, a builtin.Args) error {
	_, err := readObject(c, a)
	switch {
	case err == nil:
		c.Set(a.Str("out"), value.Bool(true))
	case apierrors.IsNotFound(err):
		c.Set(a.Str("out"), value.Bool(false))
	default:
		return fmt.Errorf("k8s.exists %s/%s: %w", a.Str("kind"), a.Str("name"), err)
	}
	return nil
}

func runDelete(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	_, r, err := kindResource(c, a)
	if err != nil {
		return err
	}
	err = r.Delete(ctx, a.Str("name"), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("k8s.delete %s/%s: %w", a.Str("kind"), a.Str("name"), err)
	}
	c.Logf("k8s.delete %s/%s", a.Str("kind"), a.Str("name"))
	return nil
}
