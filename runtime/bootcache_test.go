package runtime_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/predef"
	"github.com/gxl-dev/gxl/runtime"
)

// TestBootCache: the runs made with one BootCache (gxl operate's
// triggered runs) get the variables a run without it gets, each its own:
// what a run writes is not seen by the next, each has its own run id and
// failure, and a change of the secrets file or of the project root is
// seen by the next run.
func TestBootCache(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(t.TempDir(), "sec.yml")
	if err := os.WriteFile(secrets, []byte("token: one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cache := &runtime.BootCache{}
	opts := func(f predef.Failure) runtime.Options {
		return runtime.Options{Dir: dir, SecretsFile: secrets, Boot: cache, Failure: f,
			Extra: map[string]value.Value{"REGION": value.Str("eu")},
			Sets:  map[string]value.Value{"LEVEL": value.Int(3)}}
	}
	boot := func(o runtime.Options) *runtime.Scope {
		t.Helper()
		s, err := runtime.New(nil, o).Bootstrap()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	get := func(s *runtime.Scope, name string) string {
		v, _ := s.Get(name)
		return v.String()
	}

	// The same variables as without the cache (the run id aside).
	plain := opts(predef.Failure{})
	plain.Boot = nil
	want := boot(plain).Map()
	first := boot(opts(predef.Failure{}))
	got := first.Map()
	for k, v := range want {
		if k == "GXL_RUN_ID" {
			continue
		}
		if g, ok := got[k]; !ok || !value.Equal(g, v) || g.Secret() != v.Secret() {
			t.Errorf("%s = %v (secret %v), without the cache %v (secret %v)", k, g, g.Secret(), v, v.Secret())
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d variables, %d without the cache", len(got), len(want))
	}

	// What a run writes is not seen by the next.
	first.Set("GXL_CUR_DIR", value.Str("written"))
	first.Set("REGION", value.Str("written"))
	first.Set("FRESH", value.Str("written"))
	first.Delete("SEC_TOKEN")
	second := boot(opts(predef.Failure{Flow: "main.probe", Error: "boom"}))
	if get(second, "GXL_CUR_DIR") != dir || get(second, "REGION") != "eu" || get(second, "SEC_TOKEN") != "one" {
		t.Errorf("the next run sees the writes of the one before: GXL_CUR_DIR=%s REGION=%s SEC_TOKEN=%s",
			get(second, "GXL_CUR_DIR"), get(second, "REGION"), get(second, "SEC_TOKEN"))
	}
	if _, ok := second.Get("FRESH"); ok {
		t.Error("the next run sees FRESH, set by the run before")
	}
	if a, b := get(first, "GXL_RUN_ID"), get(second, "GXL_RUN_ID"); a == b {
		t.Errorf("two runs with the run id %s", a)
	}
	if get(second, "FAILED_FLOW") != "main.probe" || get(second, "FAILED_ERROR") != "boom" || get(first, "FAILED_FLOW") != "" {
		t.Errorf("FAILED_FLOW: first %q, second %q", get(first, "FAILED_FLOW"), get(second, "FAILED_FLOW"))
	}
	if v, _ := second.Get("SEC_TOKEN"); !v.Secret() {
		t.Error("SEC_TOKEN is not secret")
	}

	// A system variable or a --set of a predefined variable that varies
	// by run wins over it, in every run, as without the cache.
	pinned := opts(predef.Failure{})
	pinned.Boot = &runtime.BootCache{}
	pinned.Sets = map[string]value.Value{"GXL_RUN_ID": value.Str("given")}
	for range 2 {
		if id := get(boot(pinned), "GXL_RUN_ID"); id != "given" {
			t.Errorf("GXL_RUN_ID = %q despite --set GXL_RUN_ID=given", id)
		}
	}

	// The secrets file and the project root, changed, are seen.
	if err := os.WriteFile(secrets, []byte("token: two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v := get(boot(opts(predef.Failure{})), "SEC_TOKEN"); v != "two" {
		t.Errorf("after the secrets file changed: SEC_TOKEN = %q", v)
	}
	os.Remove(secrets)
	if _, ok := boot(opts(predef.Failure{})).Get("SEC_TOKEN"); ok {
		t.Error("after the secrets file was removed: SEC_TOKEN is still set")
	}
	before := get(boot(opts(predef.Failure{})), "GXL_PRJ_ROOT")
	os.MkdirAll(filepath.Join(dir, "_gal"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "_gal", "project.toml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if after := get(boot(opts(predef.Failure{})), "GXL_PRJ_ROOT"); after != dir {
		t.Errorf("GXL_PRJ_ROOT = %q (before the project file: %q), want %q", after, before, dir)
	}
}
