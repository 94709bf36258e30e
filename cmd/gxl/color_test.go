package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
)

// onTerminal runs gxl with args on a new pseudo-terminal (stdin, stdout
// and stderr) in dir, env added to a clean environment (no NO_COLOR, TERM
// as given), and returns everything it wrote, escape sequences included.
func onTerminal(t *testing.T, dir string, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(gxlBin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "TERM=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+dir, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "GAL_SEC_FILE_PATH="+filepath.Join(dir, "sec.yml"))
	cmd.Env = append(cmd.Env, env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		io.Copy(&out, f) // ends with EIO when the process is gone
		close(read)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(waitFor):
		cmd.Process.Kill()
		t.Fatalf("gxl %s did not finish:\n%q", strings.Join(args, " "), out.String())
	}
	select {
	case <-read:
	case <-time.After(5 * time.Second):
	}
	return out.Bytes()
}

// sgr matches an ANSI colour (Select Graphic Rendition) sequence.
var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

const colorProgram = `mod main {
    #[colour("red")]
    flow deploy {
        gx.echo("deploying");
        gx.cmd("exit 3");
    }
}
`

// TestColorOnTerminal: gxl colours a terminal (logs, the warning's and the
// failure's diagnostics) and nothing else: not with NO_COLOR set, not with
// TERM=dumb, not under --color never; --color always colours a pipe too.
func TestColorOnTerminal(t *testing.T) {
	dir := project(t, map[string]string{"w.gxl": colorProgram})
	run := []string{"run", "w.gxl", "deploy"}
	for _, tc := range []struct {
		name  string
		env   []string
		flags []string
		color bool
	}{
		{"terminal", []string{"TERM=xterm"}, nil, true},
		{"NO_COLOR", []string{"TERM=xterm", "NO_COLOR=1"}, nil, false},
		{"TERM=dumb", []string{"TERM=dumb"}, nil, false},
		{"--color never", []string{"TERM=xterm"}, []string{"--color", "never"}, false},
		{"--color always with NO_COLOR", []string{"TERM=xterm", "NO_COLOR=1"}, []string{"--color=always"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := onTerminal(t, dir, tc.env, append(tc.flags, run...)...)
			text := string(out)
			if !strings.Contains(text, "deploying") || !strings.Contains(text, "w.gxl:5:9") || !strings.Contains(text, "unknown annotation") {
				t.Fatalf("the run did not print what it should:\n%q", text)
			}
			if got := sgr.MatchString(text); got != tc.color {
				t.Errorf("colour %v, want %v:\n%q", got, tc.color, text)
			}
		})
	}
	// Through pipes: no colour, unless --color always.
	for _, tc := range []struct {
		flags []string
		color bool
	}{{nil, false}, {[]string{"--color", "always"}, true}} {
		cmd := exec.Command(gxlBin, append(tc.flags, run...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TERM=xterm", "NO_COLOR=")
		out, _ := cmd.CombinedOutput()
		if got := sgr.Match(out); got != tc.color {
			t.Errorf("pipe %v: colour %v, want %v:\n%q", tc.flags, got, tc.color, out)
		}
	}
}

// TestProgressOnTerminal: a wait shows as one live line — what it waits
// for and the elapsed time, redrawn in place — that is erased when the wait
// ends; the end stays as one log line with the time waited. The wait is an
// http.check of a server that answers 200 only after 1.5 s.
func TestProgressOnTerminal(t *testing.T) {
	start := time.Now()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if time.Since(start) < 1500*time.Millisecond {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	dir := project(t, map[string]string{"w.gxl": `mod main {
    flow wait {
        http.check("` + srv.URL + `/health", attempts: 40, delay: "100ms");
        gx.echo("ready");
    }
}
`})
	out := onTerminal(t, dir, []string{"TERM=xterm"}, "run", "w.gxl", "wait")
	text := string(out)
	if time.Since(start) < 1500*time.Millisecond || hits.Load() < 2 {
		t.Fatalf("the run did not wait (%d requests)", hits.Load())
	}
	label := "waiting for " + srv.URL + "/health to answer 200"
	// The live line: its text, a status and an elapsed time, drawn more
	// than once (redrawn in place: erase sequences between).
	live := regexp.MustCompile(regexp.QuoteMeta(label) + `: attempt \d+ of 40: status 503, want 200  \d+(\.\d)?m?s`)
	if n := len(live.FindAllString(text, -1)); n < 3 {
		t.Errorf("the live line was drawn %d times, want it redrawn as the wait goes on:\n%q", n, text)
	}
	if !strings.Contains(text, "\x1b[2K") {
		t.Errorf("the live line is never erased:\n%q", text)
	}
	// What a person sees at the end: the live line gone, the end line and
	// the output kept.
	scr := newScreen(160)
	scr.write(out)
	final := scr.text()
	if strings.Contains(final, label) {
		t.Errorf("the live line stayed on the screen:\n%s", final)
	}
	if !regexp.MustCompile(`main\.wait  waited for ` + regexp.QuoteMeta(srv.URL) + `/health to answer 200 took=1\.\d+s`).MatchString(final) {
		t.Errorf("no end line with the time waited:\n%s", final)
	}
	if !strings.Contains(final, "\nready") {
		t.Errorf("the output is missing:\n%s", final)
	}
}
