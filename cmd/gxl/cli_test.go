package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var gxlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gxl-cli-")
	if err != nil {
		panic(err)
	}
	gxlBin = filepath.Join(dir, "gxl")
	args := []string{"build", "-o", gxlBin}
	if raceBuild {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// gxl runs the real binary in dir.
func gxl(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	return gxlEnv(t, dir, nil, args...)
}

// gxlEnv runs the real binary in dir with more environment variables.
func gxlEnv(t *testing.T, dir string, env []string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(gxlBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GAL_SEC_FILE_PATH="+filepath.Join(dir, "sec.yml"), "NO_COLOR=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliResult{out.String(), errb.String(), code}
}

func project(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const demoProgram = `
mod envs {
    #[usage(desp="the default env", color="green")]
    env default { region = "eu"; }
    env _hidden { }
}
mod main {
    #[usage(desp="say hello")]
    flow hello { gx.echo("hello ${ENV_REGION} ${WHO:nobody}"); }
    flow _internal { }
    flow fail : hello { gx.cmd("echo boom >&2; exit 3"); }
    flow secret { gx.echo("key ${SEC_KEY}"); gx.cmd("echo ${SEC_KEY}"); }
    flow real | _step;
    #[dryrun(_fake)]
    flow _step { gx.echo("real step"); }
    flow _fake { gx.echo("fake step ${GXL_CMD_DRYRUN}"); }
}
`

func TestMenu(t *testing.T) {
	dir := project(t, map[string]string{"_gal/work.gxl": demoProgram})
	r := gxl(t, dir, "run")
	want := "---------------prj work menu-------------\nenvs:\n    * default              -- the default env\nflow:\n" +
		"    * hello                -- say hello\n    * fail                 -- \n    * secret               -- \n    * real                 -- \n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("code %d\n%s\nwant\n%s", r.code, r.stdout, want)
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := project(t, map[string]string{
		"_gal/work.gxl": demoProgram,
		"bad.gxl":       "mod main { flow f { gx.ech(\"x\"); } }\n",
	})
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{"ok", []string{"run", "hello"}, 0, "hello eu nobody\n", nil},
		{"set", []string{"run", "hello", "--set", "WHO=ann"}, 0, "hello eu ann\n", nil},
		{"file positional", []string{"run", "_gal/work.gxl", "hello"}, 0, "hello eu nobody\n", nil},
		{"comma flows", []string{"run", "hello,hello"}, 0, "hello eu nobody\nhello eu nobody\n", nil},
		{"step fails", []string{"run", "-q", "fail"}, 1, "hello eu nobody\n", []string{"work.gxl:11:25: error: gx.cmd: command failed with exit status 3", "    boom\n", "= flow stack: main.fail", "= resume with: gxl run --resume"}},
		{"check error never starts", []string{"run", "bad.gxl", "f"}, 2, "", []string{"unknown built-in `gx.ech`", "did you mean `gx.echo`?", "the workflow was not started"}},
		{"unknown flow", []string{"run", "helo"}, 2, "", []string{"flow \"helo\" not found", "did you mean `hello`?"}},
		{"unknown env", []string{"run", "-e", "prod", "hello"}, 2, "", []string{"environment \"prod\" not found"}},
		{"dryrun", []string{"run", "--dryrun", "real"}, 0, "fake step true\n", nil},
		{"quiet with a value", []string{"run", "-q", "true", "hello"}, 0, "hello eu nobody\n", nil},
		{"quiet false", []string{"run", "-q", "false", "hello"}, 0, "hello eu nobody\n", nil},
		{"no dryrun", []string{"run", "real"}, 0, "real step\n", nil},
		{"missing file", []string{"run", "nope.gxl", "x"}, 2, "", []string{"cannot read nope.gxl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gxl(t, dir, tt.args...)
			if r.code != tt.code || r.stdout != tt.stdout {
				t.Fatalf("code %d (want %d)\nstdout %q (want %q)\nstderr:\n%s", r.code, tt.code, r.stdout, tt.stdout, r.stderr)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
		})
	}
}

func TestJSONLogsAndMasking(t *testing.T) {
	dir := project(t, map[string]string{"_gal/work.gxl": demoProgram, "sec.yml": "key: hunter2-secret\n"})
	r := gxl(t, dir, "run", "--log-format", "json", "secret")
	if r.code != 0 {
		t.Fatalf("code %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "hunter2-secret") {
		t.Fatalf("secret leaked:\n%s\n%s", r.stdout, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q: under json the program's output is events on stderr", r.stdout)
	}
	if got := outputText(t, r.stderr, "stdout"); got != "key ***\n***\n" {
		t.Errorf("output events %q", got)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if m["msg"] == nil || m["level"] == nil {
			t.Fatalf("log line without msg/level: %q", line)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no log lines")
	}
}

func TestCheckAndFmtCLI(t *testing.T) {
	dir := project(t, map[string]string{
		"good.gxl": "mod main {\n    flow f {\n        gx.echo(\"x\");\n    }\n}\n",
		"ugly.gxl": "mod main { flow f { gx.echo(\"x\") } }\n",
		"bad.gxl":  "mod main { flow f : missing { } }\n",
	})
	if r := gxl(t, dir, "check", "good.gxl"); r.code != 0 {
		t.Fatalf("good: %d %s", r.code, r.stderr)
	}
	r := gxl(t, dir, "check", "bad.gxl")
	if r.code != 2 || !strings.Contains(r.stderr, "bad.gxl:1:21: error: unknown flow `missing`") {
		t.Fatalf("bad: %d %s", r.code, r.stderr)
	}
	r = gxl(t, dir, "check", "--format", "json", "bad.gxl")
	var ds []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &ds); err != nil || r.code != 2 || len(ds) != 1 || ds[0]["code"] != "unknown-flow" {
		t.Fatalf("json: %d %v %s", r.code, err, r.stdout)
	}
	if r := gxl(t, dir, "fmt", "--check", "good.gxl", "ugly.gxl"); r.code != 1 || r.stdout != "ugly.gxl\n" {
		t.Fatalf("fmt --check: %d %q", r.code, r.stdout)
	}
	if r := gxl(t, dir, "fmt", "-w", "ugly.gxl"); r.code != 0 {
		t.Fatalf("fmt -w: %d %s", r.code, r.stderr)
	}
	if r := gxl(t, dir, "fmt", "--check", "ugly.gxl"); r.code != 0 {
		t.Fatalf("after -w: %d %q", r.code, r.stdout)
	}
	if r := gxl(t, dir, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "gxl ") {
		t.Fatalf("version: %q", r.stdout)
	}
}

// TestKillAndResume kills a real gxl process with SIGKILL in the middle of
// a step, then resumes: finished steps are skipped, their variables are
// restored, the unfinished step runs again.
func TestKillAndResume(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "_gal/work.gxl": `
mod envs { env default { } }
mod main {
    flow all | s1 | s2 | s3;
    flow s1 { gx.cmd("echo s1 >> log.txt"); marker = "from-s1"; }
    flow s2 { gx.cmd("echo s2-start >> log.txt; if [ ! -f resume-ok ]; then touch started; sleep 60; fi; echo s2 >> log.txt"); }
    flow s3 { gx.cmd("echo s3 ${MARKER} >> log.txt"); }
}
`})
	cmd := exec.Command(gxlBin, "run", "-q", "all")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			t.Fatal("step 2 never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	// A crash while writing leaves a torn record: resume must ignore it.
	last, _ := os.ReadFile(filepath.Join(dir, ".gxl", "runs", "last"))
	jp := filepath.Join(dir, ".gxl", "runs", strings.TrimSpace(string(last)), "journal")
	f, err := os.OpenFile(jp, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"ev":"finish","top":0,"st`)
	f.Close()
	os.WriteFile(filepath.Join(dir, "resume-ok"), nil, 0o644)
	r := gxl(t, dir, "run", "-q", "--resume", "last")
	if r.code != 0 {
		t.Fatalf("resume: %d\n%s", r.code, r.stderr)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log.txt"))
	want := "s1\ns2-start\ns2-start\ns2\ns3 from-s1\n"
	if string(log) != want {
		t.Fatalf("log:\n%s\nwant:\n%s", log, want)
	}
	// A finished run resumes to nothing.
	r = gxl(t, dir, "run", "-q", "--resume", "last")
	log2, _ := os.ReadFile(filepath.Join(dir, "log.txt"))
	if r.code != 0 || string(log2) != want {
		t.Fatalf("second resume re-ran steps: %d\n%s", r.code, log2)
	}
}

const txnProgram = `
mod envs { env default { } }
mod main {
    flow all | s1 | s2;
    #[transaction, undo(_u1)]
    flow s1 { gx.cmd("echo s1 >> log.txt"); }
    #[undo(_u2)]
    flow s2 { gx.cmd("echo s2-start >> log.txt; touch started; if [ -f fail ]; then exit 7; fi; sleep 60"); }
    flow _u1 { gx.cmd("echo undo-s1 >> log.txt"); }
    flow _u2 { gx.cmd("echo undo-s2 >> log.txt"); }
}
`

// startAndWait starts gxl in its own process group and waits for the
// started file.
func startAndWait(t *testing.T, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(gxlBin, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			return cmd
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			t.Fatal("the step never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestResumeStillCompensates: killed with SIGKILL inside a transaction,
// the resumed run restores the undo stack; when the step fails again, the
// undo flows of both processes run in reverse order.
func TestResumeStillCompensates(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "_gal/work.gxl": txnProgram})
	cmd := startAndWait(t, dir, "run", "-q", "all")
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	os.WriteFile(filepath.Join(dir, "fail"), nil, 0o644)
	r := gxl(t, dir, "run", "-q", "--resume", "last")
	if r.code != 1 {
		t.Fatalf("resume should fail with 1, got %d\n%s", r.code, r.stderr)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log.txt"))
	want := "s1\ns2-start\ns2-start\nundo-s2\nundo-s1\n"
	if string(log) != want {
		t.Fatalf("log:\n%s\nwant:\n%s", log, want)
	}
}

// TestSIGTERMRunsUndo: SIGTERM cancels the running command and runs the
// undo flows of the open transaction; the exit status is 1.
func TestSIGTERMRunsUndo(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "_gal/work.gxl": txnProgram})
	cmd := startAndWait(t, dir, "run", "-q", "all")
	began := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v", err)
	}
	if time.Since(began) > 20*time.Second {
		t.Fatal("SIGTERM did not stop the running command")
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log.txt"))
	if string(log) != "s1\ns2-start\nundo-s2\nundo-s1\n" {
		t.Fatalf("log:\n%s", log)
	}
}

// TestSignalNamedInFailure: SIGINT stops the running command, and the
// failure says the run was cancelled by the signal (not "command
// cancelled"), once, with the statement that was interrupted.
func TestSignalNamedInFailure(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "_gal/work.gxl": `mod envs { env default { } }
mod main {
    flow wait { gx.cmd("touch started; sleep 60"); }
}
`})
	cmd := exec.Command(gxlBin, "run", "-q", "wait")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			t.Fatal("the command never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s", err, errb.String())
	}
	out := errb.String()
	for _, want := range []string{"_gal/work.gxl:3:17: error: cancelled by signal SIGINT\n", "= interrupted: gx.cmd: command stopped: touch started; sleep 60\n", "= flow stack: main.wait\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "error:") != 1 {
		t.Errorf("the failure is not reported once:\n%s", out)
	}
}

// TestDocsMatchRegistry keeps docs/<family>.md equal to `gxl doc --markdown`.
func TestDocsMatchRegistry(t *testing.T) {
	for _, fam := range []string{"gx", "pg", "redis", "k8s", "http", "sys", "notify"} {
		r := gxl(t, ".", "doc", "--markdown", fam)
		want, err := os.ReadFile(filepath.Join("..", "..", "docs", fam+".md"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(want), r.stdout) {
			t.Errorf("docs/%s.md is out of date: regenerate it with `gxl doc --markdown %s`", fam, fam)
		}
	}
}

// TestSystemWorkflow: a workflow under sys/workflows sees the typed system
// variables (checked statically and at run time); a bad value stops the run
// before anything starts, with the YAML position.
func TestSystemWorkflow(t *testing.T) {
	dir := project(t, map[string]string{
		"sys/sys_model.yml": "name: demo\nmodel: x86-ubt22-k8s\n",
		"sys/mod_list.yml":  "- name: db\n  addr: {path: ./db}\n",
		"sys/vars.yml":      "vars:\n  - name: API_RATE_LIMIT\n    value: \"${API_RATE_LIMIT:1000}\"\n    type: integer\n    min: 1\n    max: 10000\n  - name: MODE\n    value: \"fast\"\n",
		"sys/workflows/operators.gxl": `mod envs { env default { } }
mod main {
    flow show {
        if ${API_RATE_LIMIT} > 100 { gx.echo("high ${API_RATE_LIMIT}"); } else { gx.echo("low ${API_RATE_LIMIT}"); }
    }
}`,
		"sys/workflows/bad.gxl": `mod envs { env default { } }
mod main { flow f { if ${MODE} > 1 { } } }`,
	})
	if r := gxl(t, dir, "run", "sys/workflows/operators.gxl", "show"); r.code != 0 || r.stdout != "high 1000\n" {
		t.Fatalf("run: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := gxl(t, dir, "run", "sys/workflows/operators.gxl", "show", "--set", "API_RATE_LIMIT=50"); r.code != 0 || r.stdout != "low 50\n" {
		t.Fatalf("run --set: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r := gxl(t, dir, "run", "sys/workflows/operators.gxl", "show", "--set", "API_RATE_LIMIT=0")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "sys/vars.yml:3:12: error: API_RATE_LIMIT = 0 is below the minimum 1") {
		t.Fatalf("bad value: %d %q\n%s", r.code, r.stdout, r.stderr)
	}
	// MODE is a string system variable: comparing it with a number is a
	// check error.
	r = gxl(t, dir, "check", "sys/workflows/bad.gxl")
	if r.code != 2 || !strings.Contains(r.stderr, "> between string and int (mismatched types)") {
		t.Fatalf("typed check: %d\n%s", r.code, r.stderr)
	}
}

func TestGraph(t *testing.T) {
	dir := project(t, map[string]string{
		"sys/sys_model.yml": "name: demo\nmodel: x86-ubt22-k8s\n",
		"sys/mod_list.yml":  "- name: db\n  addr: {path: ./db}\n  priority: 100\n- name: web\n  addr: {path: ./web}\n  priority: 50\n  depends: [db]\n",
		"sys/vars.yml":      "vars: []\n",
		"sys/workflows/operators.gxl": `mod envs { env default { } }
mod main {
    flow setup { }
    #[undo(_rollback)]
    flow deploy : setup { }
    flow _rollback { }
}`,
	})
	r := gxl(t, dir, "graph", "sys/workflows/operators.gxl")
	for _, want := range []string{"graph TB", `mod_db["db (priority 100)"]`, "mod_db -->|before| mod_web", "flow_main__setup --> flow_main__deploy", "flow_main__deploy -.->|undo| flow_main___rollback"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("mermaid lacks %q:\n%s", want, r.stdout)
		}
	}
	r = gxl(t, dir, "graph", "--format", "dot", "sys/workflows/operators.gxl")
	if r.code != 0 || !strings.Contains(r.stdout, "digraph gxl") || !strings.Contains(r.stdout, `flow_main__deploy -> flow_main___rollback [label="undo", style=dashed];`) {
		t.Errorf("dot:\n%s", r.stdout)
	}
}

// TestSecretPrintedInPieces: a real child process prints a secret in two
// writes 0.3 s apart, on stdout and on stderr; the console and the JSON
// log format both show *** and never the secret. A value derived from a
// --set SEC_* secret is masked as a whole.
func TestSecretPrintedInPieces(t *testing.T) {
	prog := `mod envs { env default { } }
mod main {
    flow pieces {
        gx.cmd("sh -c 'printf hun; sleep 0.3; printf \"ter2 out\\n\"; printf hun >&2; sleep 0.3; printf \"ter2 err\\n\" >&2'");
        dsn = "postgres://u:${SEC_PW}@h";
        gx.echo("dsn ${DSN}");
        gx.read_cmd(name: "OUT", cmd: "printf 'pw is %s' \"$SEC_PW\"");
        gx.echo("read ${OUT}");
    }
}
`
	dir := project(t, map[string]string{"_gal/work.gxl": prog, "sec.yml": "x: hunter2\n"})
	for _, format := range []string{"console", "json"} {
		t.Run(format, func(t *testing.T) {
			r := gxl(t, dir, "run", "--log-format", format, "--set", "SEC_PW=pa55word", "pieces")
			if r.code != 0 {
				t.Fatalf("code %d: %s", r.code, r.stderr)
			}
			for _, leak := range []string{"hunter2", "pa55word"} {
				if strings.Contains(r.stdout+r.stderr, leak) {
					t.Errorf("%q leaked:\nstdout:\n%s\nstderr:\n%s", leak, r.stdout, r.stderr)
				}
			}
			stdout, stderr := r.stdout, r.stderr
			if format == "json" {
				stdout, stderr = outputText(t, r.stderr, "stdout"), outputText(t, r.stderr, "stderr")
			}
			if want := "***ter2 out\n"; strings.Contains(stdout, want) || !strings.Contains(stdout, "*** out\n") {
				t.Errorf("stdout not masked as one piece:\n%s", stdout)
			}
			if !strings.Contains(stderr, "*** err\n") {
				t.Errorf("stderr not masked:\n%s", stderr)
			}
			if !strings.Contains(stdout, "dsn ***\n") || !strings.Contains(stdout, "read ***\n") {
				t.Errorf("derived values not masked as a whole:\n%s", stdout)
			}
		})
	}
}

// outputText is the text of the "output" events of stream in a
// --log-format json stream, one line each.
func outputText(t *testing.T, events, stream string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(events), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if m["msg"] == "output" && m["stream"] == stream {
			b.WriteString(m["text"].(string) + "\n")
		}
	}
	return b.String()
}
