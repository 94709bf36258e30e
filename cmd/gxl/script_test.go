package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScript runs the CLI behaviour scripts in testdata/script: one
// .txtar file per behaviour, each a small project and the gxl commands run
// in it with the exit codes and output they must give (the way cue tests its
// CLI). The gxl built by TestMain is first on PATH; the environment is
// fresh (HOME and the user cache dir inside the script's work folder,
// NO_COLOR set) so a script sees what a new user on a clean machine sees.
//
// Commands a script has besides testscript's own:
//
//	gxl ARGS...     runs the gxl under test (like exec gxl) and records its
//	                exit code; "! gxl" expects a non-zero code
//	exitcode N      fails unless the last gxl command exited with code N
//	unchanged DIR   fails when a file under DIR changed since the script
//	                started (used after dry runs and plans)
//	jsonlines FILE  fails unless every line of FILE (stdout, stderr or a
//	                file) is one JSON object with msg and level
//	                (--log-format json)
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: false,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", filepath.Dir(gxlBin)+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("HOME", filepath.Join(env.WorkDir, ".home"))
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".home", ".cache"))
			env.Setenv("NO_COLOR", "1")
			env.Setenv("GXL_BIN", gxlBin)
			env.Setenv("GAL_SEC_FILE_PATH", filepath.Join(env.WorkDir, "sec.yml"))
			snap, err := snapshot(env.WorkDir)
			if err != nil {
				return err
			}
			env.Values["snapshot"] = snap
			env.Values["exit"] = new(int)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"unchanged": cmdUnchanged,
			"gxl":       cmdGxl,
			"exitcode":  cmdExitCode,
			"jsonlines": cmdJSONLines,
		},
	})
}

// snapshot records every regular file under dir (the script's home folder
// excluded) with its content.
func snapshot(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == ".home" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return files, err
}

func cmdUnchanged(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: unchanged DIR")
	}
	before := ts.Value("snapshot").(map[string]string)
	root := ts.MkAbs(".")
	now, err := snapshot(root)
	ts.Check(err)
	prefix := filepath.ToSlash(args[0])
	if prefix == "." {
		prefix = ""
	} else {
		prefix = strings.TrimSuffix(prefix, "/") + "/"
	}
	var changed []string
	for name, content := range now {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if old, ok := before[name]; !ok {
			changed = append(changed, "created "+name)
		} else if old != content {
			changed = append(changed, "changed "+name)
		}
	}
	for name := range before {
		if strings.HasPrefix(name, prefix) {
			if _, ok := now[name]; !ok {
				changed = append(changed, "removed "+name)
			}
		}
	}
	if neg {
		if len(changed) == 0 {
			ts.Fatalf("nothing under %s changed", args[0])
		}
		return
	}
	if len(changed) > 0 {
		ts.Fatalf("files under %s changed: %s", args[0], strings.Join(changed, ", "))
	}
}

func cmdGxl(ts *testscript.TestScript, neg bool, args []string) {
	err := ts.Exec(gxlBin, args...)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("gxl: %v", err)
	}
	*ts.Value("exit").(*int) = code
	if neg && code == 0 {
		ts.Fatalf("gxl succeeded unexpectedly")
	}
	if !neg && code != 0 {
		ts.Fatalf("gxl exited %d", code)
	}
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: exitcode N")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	if got := *ts.Value("exit").(*int); got != want {
		ts.Fatalf("gxl exited %d, want %d", got, want)
	}
}

func cmdJSONLines(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: jsonlines stdout|stderr|FILE")
	}
	text := ts.ReadFile(args[0])
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "" && text == "" {
			break
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			ts.Fatalf("%s line %d is not a JSON object: %q (%v)", args[0], i+1, line, err)
		}
		if m["msg"] == nil || m["level"] == nil {
			ts.Fatalf("%s line %d has no msg or level: %q", args[0], i+1, line)
		}
	}
}
