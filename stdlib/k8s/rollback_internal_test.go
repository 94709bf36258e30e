package k8s

import (
	"encoding/json"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestRollbackTarget: which revision a rollback returns to. The history
// is the one after a failed upgrade was rolled back once (v1 was
// revision 1, the broken v2 revision 2; the rollback made v1 revision 3)
// and the same upgrade was tried again (v2 is now revision 4).
func TestRollbackTarget(t *testing.T) {
	h := []revision{{number: 3, hash: "v1hash"}, {number: 4, hash: "v2hash"}}
	tests := []struct {
		name   string
		h      []revision
		cur    int
		number int64
		hash   string
		want   string // hash of the target, or the error
	}{
		{"by the hash recorded before the upgrade", h, 4, 0, "v1hash", "v1hash"},
		{"by hash, the current one (nothing to undo)", h, 4, 0, "v2hash", "v2hash"},
		{"by number", h, 4, 3, "", "v1hash"},
		{"the one before the current", h, 4, 0, "", "v1hash"},
		{"the one before the current, not the newest below", []revision{{number: 1, hash: "a"}, {number: 2, hash: "b"}, {number: 3, hash: "c"}}, 2, 0, "", "a"},
		{"unknown hash", h, 4, 0, "gone", "no revision with pod-template-hash gone (revisions: 3 (v1hash), 4 (v2hash))"},
		{"unknown number", h, 4, 1, "", "no revision 1 (revisions: 3 (v1hash), 4 (v2hash))"},
		{"negative number", h, 4, -2, "", "revision -2: revisions are numbered from 1 (0: the one before the current)"},
		{"both", h, 4, 3, "v1hash", "give revision or hash, not both"},
		{"nothing before the first", []revision{{number: 1, hash: "a"}}, 1, 0, "", "no revision before the current one, 1 (revisions: 1 (a))"},
		{"no history", nil, 0, 0, "a", "no revision with pod-template-hash a (revisions: none)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rollbackTarget(tt.h, tt.cur, tt.number, tt.hash)
			got := r.hash
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRollbackPatch: the Deployment gets the ReplicaSet's pod template
// whole (labels the newer template added go) without the ReplicaSet's
// pod-template-hash label.
func TestRollbackPatch(t *testing.T) {
	rs := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "web-abc"},
		"spec": map[string]any{"template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"app": "web", "pod-template-hash": "abc"}},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "web:v1"}}},
		}},
	}}
	b, err := rollbackPatch(rs)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	json.Unmarshal(b, &got)
	want := []map[string]any{{"op": "replace", "path": "/spec/template", "value": map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "web:v1"}}},
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("patch %s", b)
	}
	if _, err := rollbackPatch(&unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "x"}}}); err == nil {
		t.Fatal("a ReplicaSet without a pod template gave a patch")
	}
}
