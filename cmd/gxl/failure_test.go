package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the golden outputs in testdata/failures")

var runID = regexp.MustCompile(`\b\d{8}-\d{6}-[0-9a-f]{6}\b`)

// TestGoldenFailures runs the programs of testdata/failures/*.txtar with
// the real binary and compares what a failed run prints on stderr (and
// its exit status) with the archive's want section: one diagnostic with
// the position, source line, caret, hint, flow stack and resume command.
// The archive's args section holds one gxl command line per line; only
// the last one's output is compared (the others prepare, e.g. a fetch).
// With -update the want sections are rewritten.
func TestGoldenFailures(t *testing.T) {
	files, _ := filepath.Glob("testdata/failures/*.txtar")
	if len(files) < 5 {
		t.Fatalf("only %d golden cases", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			var args []string
			want := -1
			for i, f := range ar.Files {
				switch f.Name {
				case "want":
					want = i
				case "args":
					args = strings.Split(strings.TrimSpace(string(f.Data)), "\n")
				default:
					files[f.Name] = string(f.Data)
				}
			}
			dir := project(t, files)
			var r cliResult
			for _, line := range args {
				r = gxl(t, dir, strings.Fields(line)...)
			}
			got := fmt.Sprintf("exit %d\n%s", r.code, runID.ReplaceAllString(strings.ReplaceAll(r.stderr, dir, "$WORK"), "<run>"))
			if *update {
				if want < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					want = len(ar.Files) - 1
				}
				ar.Files[want].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want < 0 {
				t.Fatal("no want section (run with -update)")
			}
			if w := string(ar.Files[want].Data); got != w {
				t.Errorf("stderr differs\n--- got\n%s\n--- want\n%s", got, w)
			}
		})
	}
}

// TestFailureJSONEvent: with --log-format json a failed step is one
// error event carrying the position, the message, the hint and the flow
// stack with call positions; nothing else is printed at error level.
func TestFailureJSONEvent(t *testing.T) {
	dir := project(t, map[string]string{"_gal/work.gxl": `mod envs { env default { } }
mod main {
    flow deploy { lib.apply(); }
}
mod lib {
    fn apply() { gx.cmd("echo ${RELEASE_TAG}"); }
}
`})
	r := gxl(t, dir, "run", "--log-format", "json", "deploy")
	if r.code != 1 {
		t.Fatalf("code %d\n%s", r.code, r.stderr)
	}
	var events []map[string]any
	// The checker's warning is an event too: every line is JSON.
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if m["level"] == "ERROR" {
			events = append(events, m)
		}
	}
	if len(events) != 1 {
		t.Fatalf("%d error events:\n%s", len(events), r.stderr)
	}
	e := events[0]
	stack, _ := e["stack"].([]any)
	if e["at"] != "_gal/work.gxl:6:31" || e["error"] != "gx.cmd: variable ${RELEASE_TAG} is not defined" ||
		e["hint"] != "define it, or give a default: ${RELEASE_TAG:value}" || len(stack) != 2 ||
		stack[1] != "fn lib.apply (called at _gal/work.gxl:3:19)" || e["resume"] == nil {
		t.Errorf("event: %v", e)
	}
}
