package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

const debugProgram = `mod envs {
    env default { region = "eu"; }
}
mod main {
    app = "api";
    fn check(*v) {
        gx.assert(value: "${v}", expect: "ok");
    }
    flow deploy {
        gx.echo("deploying ${MAIN_APP} to ${ENV_REGION}");
        STATE = "bad";
        gx.echo("state is ${STATE}");
        check("${STATE}");
        gx.echo("deployed ${MAIN_APP} with ${STATE}");
    }
    flow slow {
        gx.echo("sleeping");
        gx.cmd("sleep 60");
        gx.echo("woke up");
    }
    #[transaction, undo(_rollback)]
    flow release { gx.echo("released"); }
    flow _rollback { gx.echo("rolled back"); }
    flow ship : release { gx.assert(value: "${SHIP:no}", expect: "yes"); gx.echo("shipped"); }
    flow secret { gx.echo("key ${SEC_KEY}"); }
}
`

// ptyTerm is gxl running on a pseudo-terminal, with a model of its screen.
type ptyTerm struct {
	t    *testing.T
	pty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	scr  *screen
	mark int // expect searches from this row on
	done chan struct{}
	err  error // the process's exit
}

const waitFor = 60 * time.Second // generous: the binary may be race-instrumented

// startTerm runs gxl on a new pseudo-terminal in dir, with its user cache
// (the prompt's history) under dir/cache.
func startTerm(t *testing.T, dir string, args ...string) *ptyTerm {
	t.Helper()
	cmd := exec.Command(gxlBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"GAL_SEC_FILE_PATH="+filepath.Join(dir, "sec.yml"), "NO_COLOR=1", "TERM=xterm")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	tm := &ptyTerm{t: t, pty: f, cmd: cmd, scr: newScreen(160), done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			tm.mu.Lock()
			tm.scr.write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		tm.err = cmd.Wait()
		close(tm.done)
	}()
	t.Cleanup(func() {
		select {
		case <-tm.done:
		default:
			cmd.Process.Kill()
			<-tm.done
		}
		f.Close()
		if t.Failed() {
			t.Logf("screen:\n%s", tm.text())
		}
	})
	return tm
}

func (tm *ptyTerm) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.scr.text()
}

// send types text (\r is Enter, \t is Tab, \x03 is Ctrl-C).
func (tm *ptyTerm) send(text string) {
	tm.t.Helper()
	if _, err := tm.pty.Write([]byte(text)); err != nil {
		tm.t.Fatalf("typing %q: %v", text, err)
	}
}

// expect waits until each of want shows on the screen, in this order,
// from the current mark on; the mark moves to the row of the last one.
func (tm *ptyTerm) expect(want ...string) {
	tm.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		tm.mu.Lock()
		row, ok := findInOrder(tm.scr.rows, tm.mark, want)
		tm.mu.Unlock()
		if ok {
			tm.mark = row
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the screen does not show %q (from row %d)", want, tm.mark)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expectLine waits until the cursor's line reads exactly want (trailing
// blanks are not seen).
func (tm *ptyTerm) expectLine(want string) {
	tm.t.Helper()
	want = strings.TrimRight(want, " ")
	deadline := time.Now().Add(waitFor)
	for {
		tm.mu.Lock()
		got := tm.scr.line()
		tm.mu.Unlock()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the cursor's line reads %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitChild waits until the process has a child process named name.
func (tm *ptyTerm) waitChild(name string) {
	tm.t.Helper()
	deadline := time.Now().Add(waitFor)
	pid := strconv.Itoa(tm.cmd.Process.Pid)
	for time.Now().Before(deadline) {
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, st := range stats {
			b, err := os.ReadFile(st)
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...
			text := string(b)
			i := strings.LastIndexByte(text, ')')
			j := strings.IndexByte(text, '(')
			if i < 0 || j < 0 {
				continue
			}
			f := strings.Fields(text[i+1:])
			if len(f) > 1 && f[1] == pid && text[j+1:i] == name {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	tm.t.Fatalf("no %s child process appeared", name)
}

// exit waits for the process and returns its exit code.
func (tm *ptyTerm) exit() int {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(waitFor):
		tm.t.Fatal("gxl did not exit")
	}
	var ee *exec.ExitError
	if errors.As(tm.err, &ee) {
		return ee.ExitCode()
	}
	if tm.err != nil {
		tm.t.Fatal(tm.err)
	}
	return 0
}

// findInOrder finds want in rows from row from on, each after the one
// before (a later one may be on the same row), and returns the last row.
func findInOrder(rows [][]rune, from int, want []string) (int, bool) {
	r, col := from, 0
	for _, w := range want {
		found := false
		for ; r < len(rows); r, col = r+1, 0 {
			line := string(rows[r])
			if col > len(line) {
				col = len(line)
			}
			if i := strings.Index(line[col:], w); i >= 0 {
				col += i + len(w)
				found = true
				break
			}
		}
		if !found {
			return 0, false
		}
	}
	return r, true
}

func debugProject(t *testing.T) string {
	return project(t, map[string]string{"work.gxl": debugProgram, "sec.yml": "key: hunter2-secret\n"})
}

// TestReplDebugSessionOnATerminal loads a file, sets a breakpoint, runs to
// it, steps, inspects and changes a variable, continues to a failure,
// retries it after a fix and quits.
func TestReplDebugSessionOnATerminal(t *testing.T) {
	dir := debugProject(t)
	tm := startTerm(t, dir, "repl")
	tm.expect("gxl repl: no file loaded (built-ins only)", "gxl> ")
	tm.send(":load work.gxl\r")
	tm.expect("work.gxl loaded (2 modules, 6 flows), env default")
	tm.send(":break deploy\r")
	tm.expect("breakpoint 1 at flow main.deploy")
	tm.send(":run deploy\r")
	tm.expect("breakpoint 1, main.deploy at work.gxl:10:9",
		`=>   10 |         gx.echo("deploying ${MAIN_APP} to ${ENV_REGION}");`, "gxl[main.deploy]> ")
	tm.send(":step\r")
	tm.expect("deploying api to eu", "main.deploy at work.gxl:11:9", `=>   11 |         STATE = "bad";`)
	tm.send(":step\r")
	tm.expect("main.deploy at work.gxl:12:9")
	tm.send("${STATE}\r")
	tm.expect(`= "bad"`)
	tm.send("STATE = \"good\";\r")
	tm.send(":vars state\r")
	tm.expect(`STATE = "good"`)
	tm.send(":continue\r")
	tm.expect("state is good",
		"step failed: fn main.check at work.gxl:7:9",
		`error: gx.assert: assert failed: value "good" is not the expected "ok"`,
		`=>    7 |         gx.assert(value: "${v}", expect: "ok");`,
		"gxl[fn main.check failed]> ")
	tm.send(":where\r")
	tm.expect("#0  fn main.check", "at work.gxl:7:9", "#1  main.deploy", "at work.gxl:13:9")
	tm.send(":list\r")
	tm.expect("=>    7 |", " *   10 |", "     12 |")
	tm.send(":set v = \"ok\"\r")
	tm.expect(`v = "ok"`)
	tm.send(":retry\r")
	tm.expect("assert true : ok", "deployed api with good", "run of deploy finished", "gxl> ")
	tm.send(":quit\r")
	if code := tm.exit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	// The stop showed the statement's line with the marker, as a whole line.
	if !strings.Contains(tm.text(), "\n=>   12 |         gx.echo(\"state is ${STATE}\");\n") {
		t.Errorf("the step's source line is not on the screen")
	}
}

// TestReplCompletionHistoryAndCtrlC: tab completion of commands, flows,
// built-ins, argument names and variables; multi-line input; Ctrl-C at
// the prompt and during a running step; the history in the cache dir.
func TestReplCompletionHistoryAndCtrlC(t *testing.T) {
	dir := debugProject(t)
	tm := startTerm(t, dir, "repl", "work.gxl")
	tm.expect("work.gxl loaded", "gxl> ")
	tm.send(":brea\t")
	tm.expectLine("gxl> :break")
	tm.send(" dep\t")
	tm.expectLine("gxl> :break deploy")
	tm.send("\r")
	tm.expect("breakpoint 1 at flow main.deploy")
	tm.send(":delete 1\r")
	tm.expect("deleted breakpoint 1")
	tm.send("gx.ec\t")
	tm.expectLine("gxl> gx.echo")
	tm.send("(\t")
	tm.expectLine("gxl> gx.echo(value: ")
	tm.send("\"hi ${ENV_RE\t")
	tm.expectLine(`gxl> gx.echo(value: "hi ${ENV_REgion`)
	tm.send("}\")\r")
	tm.expect("hi eu")

	// Multi-line input continues until the braces balance.
	tm.send("if ${ENV_REGION} == \"eu\" {\r")
	tm.expectLine("...>")
	tm.send("gx.echo(\"multi ${ENV_REGION}\");\r")
	tm.send("}\r")
	tm.expect("multi eu", "gxl> ")

	// Ctrl-C at the prompt drops what was typed; the session goes on.
	tm.send("gx.echo(\"never")
	tm.send("\x03")
	tm.expect("^C")
	tm.send("gx.echo(\"after ctrl-c\")\r")
	tm.expect("after ctrl-c")

	// Ctrl-C during a step cancels that step, not the session.
	tm.send(":run slow\r")
	tm.expect("sleeping")
	tm.waitChild("sleep")
	tm.send("\x03")
	tm.expect("main.slow at work.gxl:18:9", `=>   18 |         gx.cmd("sleep 60");`, "gxl[main.slow failed]> ")
	tm.send(":skip\r")
	tm.expect("woke up", "run of slow finished", "gxl> ")
	tm.send("gx.echo(\"alive\")\r")
	tm.expect("alive")
	tm.send(":quit\r")
	if code := tm.exit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}

	hist, err := os.ReadFile(filepath.Join(dir, "cache", "gxl", "repl_history"))
	if err != nil || !strings.Contains(string(hist), ":run slow\n") || strings.Contains(string(hist), "never") {
		t.Fatalf("history: %q %v", hist, err)
	}
	// A new session finds the history: Up recalls the last line.
	tm = startTerm(t, dir, "repl", "work.gxl")
	tm.expect("gxl> ")
	tm.send("\x1b[A")
	tm.send("\x1b[A")
	tm.expectLine(`gxl> gx.echo("alive")`)
	tm.send("\r")
	tm.expect("alive")
	tm.send(":quit\r")
	if code := tm.exit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestRunDebugOnATerminal: gxl run --debug opens the debugger on the
// failing step; --break stops at a flow; :quit aborts with undo.
func TestRunDebugOnATerminal(t *testing.T) {
	dir := debugProject(t)
	tm := startTerm(t, dir, "run", "--debug", "work.gxl", "deploy")
	tm.expect("deploying api to eu", "state is bad",
		"step failed: fn main.check at work.gxl:7:9", "gxl[fn main.check failed]> ")
	tm.send("${v}\r")
	tm.expect(`= "bad"`)
	tm.send(":set v = \"ok\"\r")
	tm.send(":retry\r")
	tm.expect("deployed api with bad")
	if code := tm.exit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}

	tm = startTerm(t, dir, "run", "--break", "release", "work.gxl", "ship")
	tm.expect("breakpoint 1 at flow main.release", "breakpoint 1, main.release at work.gxl:22:20", "gxl[main.release]> ")
	tm.send(":vars SEC\r")
	tm.expect("SEC_KEY = *** (secret string)")
	tm.send(":quit\r")
	tm.expect("aborting the run", "rolled back", "work.gxl:22:20: error: run aborted from the debugger")
	if code := tm.exit(); code != 1 {
		t.Fatalf("exit code %d", code)
	}
	if strings.Contains(tm.text(), "hunter2") {
		t.Fatal("a secret leaked")
	}
}

// TestRunDebugWithoutTerminal: without a terminal the prompt reads lines
// from standard input; at its end the run goes on without stopping.
func TestRunDebugWithoutTerminal(t *testing.T) {
	dir := debugProject(t)
	run := func(stdin string, args ...string) (string, int) {
		cmd := exec.Command(gxlBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GAL_SEC_FILE_PATH="+filepath.Join(dir, "sec.yml"), "NO_COLOR=1")
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), 0
	}
	out, code := run(":set SHIP = \"yes\"\n:retry\n", "run", "--debug", "work.gxl", "ship")
	if code != 0 || !strings.Contains(out, "step failed: main.ship") || !strings.Contains(out, "shipped") {
		t.Fatalf("retry: exit %d\n%s", code, out)
	}
	out, code = run("", "run", "--debug", "work.gxl", "ship")
	if code != 1 || !strings.Contains(out, "end of input") || !strings.Contains(out, "rolled back") || !strings.Contains(out, "work.gxl:24:27: error: gx.assert: assert failed") {
		t.Fatalf("end of input: exit %d\n%s", code, out)
	}
	out, code = run("", "run", "--break", "nosuch", "work.gxl", "ship")
	if code != 2 || !strings.Contains(out, `flow "nosuch" not found`) || strings.Contains(out, "released") {
		t.Fatalf("bad breakpoint: exit %d\n%s", code, out)
	}
	out, code = run("", "run", "work.gxl", "deploy")
	if code != 1 || strings.Contains(out, "gxl[") {
		t.Fatalf("without --debug the debugger stays out: exit %d\n%s", code, out)
	}
}

// TestReplHistoryKeepsNoSecret: the prompt's history file is 0600 (also
// when an older gxl left it 0644) and holds no secret: a :set of a SEC_*
// name keeps *** for its value, and the text of known secrets is masked.
func TestReplHistoryKeepsNoSecret(t *testing.T) {
	dir := debugProject(t)
	hist := filepath.Join(dir, "cache", "gxl", "repl_history")
	os.MkdirAll(filepath.Dir(hist), 0o755)
	if err := os.WriteFile(hist, []byte("gx.echo(\"old\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(hist, 0o644)
	tm := startTerm(t, dir, "repl", "work.gxl")
	tm.expect("work.gxl loaded", "gxl> ")
	tm.send(":set SEC_DB_PASS = \"pa55-secret\"\r")
	tm.expect("SEC_DB_PASS = *** (secret string)")
	tm.send("gx.echo(\"typed pa55-secret and hunter2-secret\")\r")
	tm.expect("typed *** and ***")
	tm.send("SEC_OTHER = \"0ther-secret\"; gx.echo(\"next\")\r")
	tm.expect("next")
	tm.send(":quit\r")
	if code := tm.exit(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	st, err := os.Stat(hist)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(hist)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %v", st.Mode().Perm())
	}
	for _, leak := range []string{"pa55-secret", "hunter2-secret", "0ther-secret"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("history holds %q:\n%s", leak, b)
		}
	}
	for _, want := range []string{"gx.echo(\"old\")\n", ":set SEC_DB_PASS = ***\n", "gx.echo(\"typed *** and ***\")\n", "SEC_OTHER = ***; gx.echo(\"next\")\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("history lacks %q:\n%s", want, b)
		}
	}
}
