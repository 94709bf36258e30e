package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestKillMidFlowResumesAtTheStatement kills a real gxl process with
// SIGKILL while the third command of a flow runs (two appends finished,
// one inside a loop, one inside an fn); resume must not append them again:
// it runs the interrupted command again and goes on.
func TestKillMidFlowResumesAtTheStatement(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "_gal/work.gxl": `
mod envs { env default { } }
mod main {
    fn add(*what) { gx.cmd("echo ${WHAT} >> log.txt"); }
    flow all {
        items = ["one"];
        for ${X} in ${ITEMS} { gx.cmd("echo ${X} >> log.txt"); }
        add("two");
        gx.cmd("echo sleeping >> side.txt; touch started; if [ ! -f resume-ok ]; then sleep 60; fi");
        gx.cmd("echo three >> log.txt");
    }
}
`})
	cmd := startAndWait(t, dir, "run", "-q", "all")
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); string(b) != "one\ntwo\n" {
		t.Fatalf("before resume: %q", b)
	}
	os.WriteFile(filepath.Join(dir, "resume-ok"), nil, 0o644)
	r := gxl(t, dir, "run", "-q", "--resume", "last")
	if r.code != 0 {
		t.Fatalf("resume: %d\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); string(b) != "one\ntwo\nthree\n" {
		t.Fatalf("after resume the log is\n%s", b)
	}
	// The interrupted command, and only it, ran twice.
	if b, _ := os.ReadFile(filepath.Join(dir, "side.txt")); string(b) != "sleeping\nsleeping\n" {
		t.Fatalf("interrupted command ran: %q", b)
	}
}

// TestResumeRefusesAChangedProgram: a run that failed after an effect,
// then the workflow is edited: resume stops with exit 2 and names the
// file; --resume-changed lists what it skips and goes on.
func TestResumeRefusesAChangedProgram(t *testing.T) {
	prog := `
mod envs { env default { } }
mod main {
    flow all {
        gx.cmd("echo first >> log.txt");
        gx.cmd("test -f ok");
        gx.cmd("echo last >> log.txt");
    }
}
`
	dir := project(t, map[string]string{"_gal/project.toml": "", "_gal/work.gxl": prog})
	if r := gxl(t, dir, "run", "-q", "all"); r.code != 1 {
		t.Fatalf("first run: %d\n%s", r.code, r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "ok"), nil, 0o644)
	edited := strings.Replace(prog, `gx.cmd("echo first >> log.txt");`, `gx.cmd("echo first >> log.txt");
        gx.cmd("echo inserted >> log.txt");`, 1)
	os.WriteFile(filepath.Join(dir, "_gal/work.gxl"), []byte(edited), 0o644)
	r := gxl(t, dir, "run", "-q", "--resume", "last")
	if r.code != 2 || !strings.Contains(r.stderr, "changed: "+filepath.Join(dir, "_gal/work.gxl")) || !strings.Contains(r.stderr, "--resume-changed") {
		t.Fatalf("resume of a changed program: %d\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); string(b) != "first\n" {
		t.Fatalf("the refused resume ran something: %q", b)
	}
	r = gxl(t, dir, "run", "-q", "--resume", "last", "--resume-changed")
	if r.code != 0 || !strings.Contains(r.stderr, "1 finished statements will be skipped") || !strings.Contains(r.stderr, "work.gxl:5:9 gx.cmd") {
		t.Fatalf("--resume-changed: %d\n%s", r.code, r.stderr)
	}
	// Skipped by position: the first command (finished) is skipped, the
	// statement now at its old second place runs.
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); string(b) != "first\ninserted\nlast\n" {
		t.Fatalf("log: %q", b)
	}
	// Unchanged since the last resume: a further resume is accepted.
	if r := gxl(t, dir, "run", "-q", "--resume", "last"); r.code != 0 {
		t.Fatalf("resume of the unchanged program: %d\n%s", r.code, r.stderr)
	}
}

// TestSecretsNeverInTheJournal: a secret given with --set, a value built
// from it and a command output containing it are never written under
// .gxl; resume asks for the secret again.
func TestSecretsNeverInTheJournal(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "_gal/work.gxl": `
mod envs { env default { } }
mod main {
    flow all {
        dsn = "postgres://app:${SEC_TOKEN}@db/app";
        gx.read_cmd(name: "OUT", cmd: "echo token=$SEC_TOKEN");
        gx.read_cmd(name: "PLAIN", cmd: "echo plain");
        gx.cmd("echo ${DSN} ${OUT} > used.txt");
        gx.cmd("test -f ok");
    }
}
`})
	const secret = "hunter2-swordfish"
	if r := gxl(t, dir, "run", "-q", "--set", "SEC_TOKEN="+secret, "all"); r.code != 1 {
		t.Fatalf("first run: %d\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "used.txt")); !strings.Contains(string(b), secret) {
		t.Fatalf("the commands did not get the secret: %q", b)
	}
	assertNoSecretUnder(t, filepath.Join(dir, ".gxl"), secret)
	os.WriteFile(filepath.Join(dir, "ok"), nil, 0o644)
	r := gxl(t, dir, "run", "-q", "--resume", "last")
	if r.code != 2 || !strings.Contains(r.stderr, "--set SEC_TOKEN") {
		t.Fatalf("resume without the secret: %d\n%s", r.code, r.stderr)
	}
	os.Remove(filepath.Join(dir, "used.txt"))
	if r := gxl(t, dir, "run", "-q", "--resume", "last", "--set", "SEC_TOKEN="+secret); r.code != 0 {
		t.Fatalf("resume: %d\n%s", r.code, r.stderr)
	}
	assertNoSecretUnder(t, filepath.Join(dir, ".gxl"), secret)
}

func assertNoSecretUnder(t *testing.T, root, secret string) {
	t.Helper()
	n := 0
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		n++
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the secret:\n%s", p, b)
		}
		return nil
	})
	if n == 0 {
		t.Fatalf("no file under %s", root)
	}
}

// TestKillDuringUndoResumesTheUndo: killed while the undo flows of a
// failed transaction run, the resumed run does not run the failed step or
// the finished steps again: it fails the same way, runs the rest of the
// undo stack (not the finished undo statements), and exits 1. A further
// resume starts the compensated flow afresh.
func TestKillDuringUndoResumesTheUndo(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "_gal/work.gxl": `
mod envs { env default { } }
mod main {
    flow all | s1 | s2;
    #[transaction, undo(_u1)]
    flow s1 { gx.cmd("echo s1 >> log.txt"); }
    #[undo(_u2)]
    flow s2 { gx.cmd("echo s2 >> log.txt; test ! -f fail"); }
    flow _u1 { gx.cmd("echo undo-s1 >> log.txt"); }
    flow _u2 {
        gx.cmd("echo undo-s2 >> log.txt");
        gx.cmd("touch started; if [ ! -f resume-ok ]; then sleep 60; fi");
        gx.cmd("echo undo-s2-end >> log.txt");
    }
}
`})
	os.WriteFile(filepath.Join(dir, "fail"), nil, 0o644)
	cmd := startAndWait(t, dir, "run", "-q", "all")
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	os.WriteFile(filepath.Join(dir, "resume-ok"), nil, 0o644)
	r := gxl(t, dir, "run", "-q", "--resume", "last")
	if r.code != 1 || !strings.Contains(r.stderr, "finishing its undo") {
		t.Fatalf("resume: %d\n%s", r.code, r.stderr)
	}
	want := "s1\ns2\nundo-s2\nundo-s2-end\nundo-s1\n"
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); string(b) != want {
		t.Fatalf("log:\n%s\nwant:\n%s", b, want)
	}
	os.Remove(filepath.Join(dir, "fail"))
	if r := gxl(t, dir, "run", "-q", "--resume", "last"); r.code != 0 {
		t.Fatalf("second resume: %d\n%s", r.code, r.stderr)
	}
	want += "s1\ns2\n"
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); string(b) != want {
		t.Fatalf("log after the compensated flow ran afresh:\n%s\nwant:\n%s", b, want)
	}
}
