package runtime_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"github.com/gxl-dev/gxl/core/types"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
)

// resumeProgram has effects everywhere resume must find them again: an env
// item, flow bodies, both branches of an if, loop iterations, an fn body,
// a nested gx.run, a retried flow and an undo flow's own statements. Each
// effect appends one line to log.txt that says how many lines were there
// before, so an effect that runs twice, or a variable computed from a
// re-run read, shows in the log.
const resumeProgram = `mod envs {
    env default { gx.read_cmd(name: "E0", cmd: "echo env-$(cat log.txt | wc -l)"); }
}
mod main {
    fn note(*what) { gx.cmd("echo fn-${WHAT}-$(cat log.txt | wc -l) >> log.txt"); }
    flow a {
        gx.cmd("echo a-${E0}-$(cat log.txt | wc -l) >> log.txt");
        gx.read_cmd(name: "N", cmd: "cat log.txt | wc -l");
        gx.cmd("echo n-${N} >> log.txt");
    }
    flow b {
        items = ["p", "q"];
        for ${X} in ${ITEMS} { gx.cmd("echo loop-${X}-$(cat log.txt | wc -l) >> log.txt"); note("${X}"); }
        if ${N} == "1" { gx.cmd("echo then-$(cat log.txt | wc -l) >> log.txt"); } else { gx.cmd("echo else-$(cat log.txt | wc -l) >> log.txt"); }
    }
    #[retry(attempts=3)]
    flow r {
        gx.cmd("echo try-$(cat log.txt | wc -l) >> log.txt");
        gx.read_cmd(name: "TRIES", cmd: "grep -c '^try-' log.txt");
        gx.assert(value: "${TRIES}", expect: "2");
    }
    flow c { gx.run(local: "sub", env: "default", flow: "s"); gx.cmd("echo c-${N}-$(cat log.txt | wc -l) >> log.txt"); }
    flow all | a | b | r | c;
}
`

const resumeSub = `mod envs { env default { } }
mod main {
    flow s { gx.cmd("echo sub1-$(cat ../log.txt | wc -l) >> ../log.txt"); gx.cmd("echo sub2-$(cat ../log.txt | wc -l) >> ../log.txt"); }
}
`

func resumeSetup(t *testing.T) (string, *check.Program, runtime.Options) {
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("work.gxl", resumeProgram)
	write("sub/_gal/work.gxl", resumeSub)
	write("log.txt", "")
	prog := load(t, filepath.Join(dir, "work.gxl"))
	opt := runtime.Options{Dir: dir, Quiet: true, SecretsFile: filepath.Join(dir, "none"),
		Load: func(p string, known map[string]types.Type, confine string) (*check.Program, diag.List) {
			return check.Load(p, check.Options{Registry: prog.Registry, ExtraVars: known, Confine: confine})
		}}
	return dir, prog, opt
}

func runJournaled(t *testing.T, dir string, prog *check.Program, opt runtime.Options, j *runtime.Journal) error {
	var out bytes.Buffer
	opt.Stdout, opt.Stderr, opt.Journal = &out, &out, j
	err := runtime.New(prog, opt).Run(context.Background(), []string{"default"}, []string{"all"})
	if cerr := j.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	return err
}

type jrec struct {
	Ev   string `json:"ev"`
	Name string `json:"name"`
}

func readJournalLines(t *testing.T, p string) ([][]byte, []jrec) {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	var recs []jrec
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<30)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		var r jrec
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("journal line %q: %v", line, err)
		}
		lines, recs = append(lines, line), append(recs, r)
	}
	return lines, recs
}

// TestResumeAtEveryStatement kills the run (in effect) after each finished
// command: the journal is cut after that command's finish record and the
// log holds exactly the lines of the commands finished so far. Resume must
// then produce the same log as an uninterrupted run: no finished command
// runs again, none is lost, and variables read before the cut (E0, N) have
// the values they had.
func TestResumeAtEveryStatement(t *testing.T) {
	dir, prog, opt := resumeSetup(t)
	j, err := runtime.CreateJournal(dir, runtime.Header{File: "work.gxl", Flows: []string{"all"}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := runJournaled(t, dir, prog, opt, j); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "log.txt"))
	wantLines := strings.SplitAfter(string(want), "\n")
	if n := strings.Count(string(want), "\n"); n != 12 {
		t.Fatalf("the full run wrote %d lines:\n%s", n, want)
	}
	lines, recs := readJournalLines(t, j.Path)
	cuts := 0
	for k, r := range recs {
		// Commands that write a line: every finished gx.cmd except the
		// retried flow's check.
		if r.Ev != "done" || r.Name != "gx.cmd" {
			continue
		}
		cuts++
		written := 0
		for _, rr := range recs[:k+1] {
			if rr.Ev == "done" && rr.Name == "gx.cmd" {
				written++
			}
		}
		t.Run(strings.TrimSpace(wantLines[written-1]), func(t *testing.T) {
			d2, prog2, opt2 := resumeSetup(t)
			// The log holds the lines of the commands finished before
			// the cut, each written by one finished gx.cmd.
			var logText strings.Builder
			for i := 0; i < written; i++ {
				logText.WriteString(wantLines[i])
			}
			os.WriteFile(filepath.Join(d2, "log.txt"), []byte(logText.String()), 0o644)
			runs := filepath.Join(d2, ".gxl", "runs", j.ID)
			os.MkdirAll(runs, 0o700)
			var cut []byte
			for _, l := range lines[:k+1] {
				cut = append(cut, l...)
				cut = append(cut, '\n')
			}
			if err := os.WriteFile(filepath.Join(runs, "journal"), cut, 0o600); err != nil {
				t.Fatal(err)
			}
			rs, err := runtime.ReadJournal(d2, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			j2, err := runtime.OpenJournal(d2, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			opt2.Resume = rs
			if err := runJournaled(t, d2, prog2, opt2, j2); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(filepath.Join(d2, "log.txt"))
			if string(got) != string(want) {
				t.Fatalf("resumed after %d records:\n%s\nwant:\n%s", k+1, got, want)
			}
		})
	}
	if cuts < 12 {
		t.Fatalf("only %d cut points", cuts)
	}
}
