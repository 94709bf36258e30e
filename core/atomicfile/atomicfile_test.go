package atomicfile_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gxl-dev/gxl/core/atomicfile"
)

// TestWrite: the file is replaced whole with the mode asked, no temporary
// file is left, concurrent writers each leave a whole content, and a
// failed write leaves the old file and no temporary.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("content %q", b)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	if got := atomicfile.ModeOr(p, 0o644); got != 0o600 {
		t.Fatalf("ModeOr of an existing file: %v", got)
	}
	if got := atomicfile.ModeOr(filepath.Join(dir, "none"), 0o640); got != 0o640 {
		t.Fatalf("ModeOr of no file: %v", got)
	}
	var wg sync.WaitGroup
	for _, s := range []string{"aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := atomicfile.Write(p, []byte(s), 0o600); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b, _ := os.ReadFile(p)
	if len(b) != 8 || b[0] != b[7] {
		t.Fatalf("a mixed content after concurrent writes: %q", b)
	}
	// A folder that is not there: an error, nothing left behind.
	if err := atomicfile.Write(filepath.Join(dir, "no", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("a write into a missing folder succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("left in the folder: %v", ents)
	}
}
