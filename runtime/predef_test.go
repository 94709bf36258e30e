package runtime_test

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/predef"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestBootstrapSetsThePredefTable: Bootstrap sets exactly the variables of
// predef.Vars (no secrets, no extras here), each with its declared type;
// GXL_RUN_ID is the journal's id when there is one, a fresh id otherwise.
func TestBootstrapSetsThePredefTable(t *testing.T) {
	prog, ds := check.CheckSource("w.gxl", []byte("mod main { flow f { } }"), check.Options{Registry: stdlib.Default()})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	dir := t.TempDir()
	j, err := runtime.CreateJournal(dir, runtime.Header{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, tc := range []struct {
		name    string
		journal *runtime.Journal
	}{{"no journal", nil}, {"journal", j}} {
		t.Run(tc.name, func(t *testing.T) {
			r := runtime.New(prog, runtime.Options{Dir: dir, DryRun: true, CmdArg: "arg",
				SecretsFile: filepath.Join(dir, "none.yml"), Journal: tc.journal})
			s, err := r.Bootstrap()
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, v := range predef.Vars {
				want = append(want, strings.ToLower(v.Name))
				got, ok := s.Get(v.Name)
				if !ok {
					t.Errorf("%s is in the table but not set", v.Name)
					continue
				}
				if got.Kind().Type() != v.Type {
					t.Errorf("%s is a %s, the table says %v", v.Name, got.Kind(), v.Type)
				}
			}
			var names []string
			for _, n := range s.Names() {
				names = append(names, strings.ToLower(n))
			}
			sort.Strings(names)
			sort.Strings(want)
			if strings.Join(names, " ") != strings.Join(want, " ") {
				t.Errorf("Bootstrap sets %v, the table has %v", names, want)
			}
			id, _ := s.Get("GXL_RUN_ID")
			if tc.journal != nil && id.String() != tc.journal.ID {
				t.Errorf("GXL_RUN_ID = %q, want the journal id %q", id, tc.journal.ID)
			}
			if id.String() == "" {
				t.Error("GXL_RUN_ID is empty")
			}
			if d, _ := s.Get("GXL_CMD_DRYRUN"); !d.BoolVal() {
				t.Error("GXL_CMD_DRYRUN is not the run's --dryrun")
			}
		})
	}
}
