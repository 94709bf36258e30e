package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killAtRecord SIGKILLs the `gxl operate` of cmd (its process group) as
// soon as a journal under root holds the finish record of a call of
// builtin (its effect happened and was journaled), and returns that
// journal's path. The kill point is the record, not a guess of time.
func killAtRecord(t *testing.T, cmd *exec.Cmd, root, builtin string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if p := journalWithDone(root, builtin); p != "" {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("no journal under %s finished a %s call within %s", root, builtin, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// journalWithDone is the journal under root with a finish record of a
// call of builtin that has no exit record (its run is going on), or "".
func journalWithDone(root, builtin string) string {
	paths, _ := filepath.Glob(filepath.Join(root, ".gxl", "runs", "*", "journal"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || bytes.Contains(b, []byte(`"ev":"exit"`)) {
			continue
		}
		if doneIndex(b, builtin) >= 0 {
			return p
		}
	}
	return ""
}

// doneIndex is the offset of the line of the first finish record of a call
// of builtin in a journal, or -1.
func doneIndex(b []byte, builtin string) int {
	off := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, `"ev":"done"`) && strings.Contains(line, `"name":"`+builtin+`"`) {
			return off
		}
		off += len(line) + 1
	}
	return -1
}

// cutBeforeDone truncates a killed run's journal before the finish record
// of its builtin call: what a kill between the effect (the promotion) and
// its record leaves. The resume then runs that call again.
func cutBeforeDone(t *testing.T, journal, builtin string) {
	t.Helper()
	b, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	i := doneIndex(b, builtin)
	if i < 0 {
		t.Fatalf("%s: no finish record of %s", journal, builtin)
	}
	if err := os.WriteFile(journal, b[:i], 0o600); err != nil {
		t.Fatal(err)
	}
}
