package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

const (
	// revisionAnnotation numbers a Deployment's revisions; the deployment
	// controller writes it on the Deployment and on each ReplicaSet.
	revisionAnnotation = "deployment.kubernetes.io/revision"
	// hashLabel names a ReplicaSet's pod template; unlike the revision
	// number it stays when a rollback renumbers the ReplicaSet.
	hashLabel = "pod-template-hash"
)

// revision is one ReplicaSet of a Deployment's history.
type revision struct {
	number int
	hash   string
	rs     *unstructured.Unstructured
}

func (r revision) String() string { return fmt.Sprintf("%d (%s)", r.number, r.hash) }

// deploymentClients are the Deployment and ReplicaSet resources of the
// call's namespace.
func deploymentClients(c builtin.Ctx, a builtin.Args) (deps, rss dynamic.ResourceInterface, err error) {
	k, err := newClient(c, a)
	if err != nil {
		return nil, nil, err
	}
	if deps, err = k.byKind("deployments", a.Str("namespace")); err != nil {
		return nil, nil, err
	}
	rss, err = k.byKind("replicasets", a.Str("namespace"))
	return deps, rss, err
}

// history lists the ReplicaSets Deployment d owns, oldest revision first.
func history(ctx context.Context, rss dynamic.ResourceInterface, d *unstructured.Unstructured) ([]revision, error) {
	list, err := rss.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []revision
	for i := range list.Items {
		rs := &list.Items[i]
		for _, o := range rs.GetOwnerReferences() {
			if o.UID == d.GetUID() {
				n, _ := strconv.Atoi(rs.GetAnnotations()[revisionAnnotation])
				out = append(out, revision{number: n, hash: rs.GetLabels()[hashLabel], rs: rs})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].number < out[j].number })
	return out, nil
}

func listRevisions(h []revision) string {
	if len(h) == 0 {
		return "none"
	}
	s := make([]string, len(h))
	for i, r := range h {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// rollbackTarget picks the revision a rollback returns to from the
// history h of a Deployment at revision cur: the one with pod-template-hash
// hash, else the one numbered number, else the newest before cur. It
// may be cur itself (a rollback to where the Deployment already is).
func rollbackTarget(h []revision, cur int, number int64, hash string) (revision, error) {
	switch {
	case hash != "" && number != 0:
		return revision{}, errors.New("give revision or hash, not both")
	case hash != "":
		for _, r := range h {
			if r.hash == hash {
				return r, nil
			}
		}
		return revision{}, fmt.Errorf("no revision with pod-template-hash %s (revisions: %s)", hash, listRevisions(h))
	case number < 0:
		return revision{}, fmt.Errorf("revision %d: revisions are numbered from 1 (0: the one before the current)", number)
	case number > 0:
		for _, r := range h {
			if int64(r.number) == number {
				return r, nil
			}
		}
		return revision{}, fmt.Errorf("no revision %d (revisions: %s)", number, listRevisions(h))
	}
	var prev *revision
	for i := range h {
		if h[i].number < cur {
			prev = &h[i]
		}
	}
	if prev == nil {
		return revision{}, fmt.Errorf("no revision before the current one, %d (revisions: %s)", cur, listRevisions(h))
	}
	return *prev, nil
}

// rollbackPatch is the JSON patch that gives a Deployment the pod
// template of ReplicaSet rs, whole (a merge patch would keep labels and
// annotations the newer template added).
func rollbackPatch(rs *unstructured.Unstructured) ([]byte, error) {
	tpl, found, err := unstructured.NestedMap(rs.Object, "spec", "template")
	if err != nil || !found {
		return nil, fmt.Errorf("ReplicaSet %s has no pod template", rs.GetName())
	}
	if labels, ok, _ := unstructured.NestedMap(tpl, "metadata", "labels"); ok {
		delete(labels, hashLabel)
		unstructured.SetNestedMap(tpl, labels, "metadata", "labels")
	}
	return json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": tpl}})
}

func runRevision(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	name := a.Str("name")
	deps, rss, err := deploymentClients(c, a)
	if err != nil {
		return err
	}
	// The revision annotation is the controller's: read it once the
	// controller has seen the Deployment's current spec.
	var d *unstructured.Unstructured
	err = retry.Poll(ctx, 100*time.Millisecond, 0, "deployment/"+name+" to be observed by its controller", func(ctx context.Context) (bool, error) {
		var err error
		d, err = deps.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			d = nil
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if field(d, "status", "observedGeneration") < d.GetGeneration() || d.GetAnnotations()[revisionAnnotation] == "" {
			return false, fmt.Errorf("observed generation %d of %d", field(d, "status", "observedGeneration"), d.GetGeneration())
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	o := value.NewObject()
	o.Set("revision", value.Int(0))
	o.Set("hash", value.Str(""))
	if d != nil {
		cur, _ := strconv.Atoi(d.GetAnnotations()[revisionAnnotation])
		h, err := history(ctx, rss, d)
		if err != nil {
			return fmt.Errorf("deployment/%s: %w", name, err)
		}
		r, err := rollbackTarget(h, cur, int64(cur), "")
		if err != nil {
			return fmt.Errorf("deployment/%s: the current revision has no ReplicaSet: %w", name, err)
		}
		o.Set("revision", value.Int(int64(r.number)))
		o.Set("hash", value.Str(r.hash))
		c.Logf("k8s.revision %s: revision %s", name, r)
	} else {
		c.Logf("k8s.revision %s: no such deployment", name)
	}
	c.Set(a.Str("out"), value.Obj(o))
	return nil
}

func runRollback(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	name := a.Str("name")
	deps, rss, err := deploymentClients(c, a)
	if err != nil {
		return err
	}
	d, err := deps.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("deployment/%s: %w", name, err)
	}
	cur, _ := strconv.Atoi(d.GetAnnotations()[revisionAnnotation])
	h, err := history(ctx, rss, d)
	if err != nil {
		return fmt.Errorf("deployment/%s: %w", name, err)
	}
	to, err := rollbackTarget(h, cur, a.Int("revision"), a.Str("hash"))
	if err != nil {
		return fmt.Errorf("deployment/%s: %w", name, err)
	}
	if to.number == cur {
		c.Logf("k8s.rollback %s: already at revision %s", name, to)
	} else {
		patch, err := rollbackPatch(to.rs)
		if err != nil {
			return fmt.Errorf("deployment/%s: %w", name, err)
		}
		if _, err := deps.Patch(ctx, name, k8stypes.JSONPatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
			return fmt.Errorf("deployment/%s: %w", name, err)
		}
		c.Logf("k8s.rollback %s: from revision %d to revision %s", name, cur, to)
	}
	if !a.Bool("wait") {
		return nil
	}
	began := time.Now()
	err = retry.Poll(ctx, 100*time.Millisecond, 0, fmt.Sprintf("deployment/%s to roll out revision %s", name, to), func(ctx context.Context) (bool, error) {
		u, err := deps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		done, why := rolloutDone(u)
		return done, reason(done, why)
	})
	if err != nil {
		return fmt.Errorf("the revision rolled back to cannot become ready: %w", err)
	}
	c.Logf("k8s.rollback %s: revision %s rolled out after %s", name, to, time.Since(began).Round(time.Millisecond))
	return nil
}
