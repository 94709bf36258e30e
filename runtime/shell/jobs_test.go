//go:build unix

package shell

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mvdan.cc/sh/v3/syntax"
)

// TestBackgroundJobs: a command line's background jobs may run on for
// JobGrace after the line ends; what they write in that time is shown
// and kept, the ones still running then are stopped and what they write
// later is dropped, and none of it races with gxl reading the output
// (run it with -race). The run's cancel and the command's timeout stop
// them at once; a process started from a child shell with its output
// elsewhere runs on.
func TestBackgroundJobs(t *testing.T) {
	if JobGrace != KillTimeout {
		t.Fatalf("JobGrace %s, KillTimeout %s: docs/gx.md says they are the same", JobGrace, KillTimeout)
	}
	for _, tc := range []struct {
		name    string
		cmd     string
		opt     ShellOptions
		cancel  time.Duration // cancel the run's context after this long
		out     []string      // lines shown (and kept), in any order
		capture string        // the captured stdout (opt.Capture)
		min     time.Duration // RunShell took at least
		max     time.Duration // and less than
		stopped bool          // the job that would make the file "stopped" is stopped
		ranOn   string        // a file a detached process makes
		watch   time.Duration // how long after the start to look for late output
	}{
		{name: "cmd &", cmd: "echo fg; echo bg &", out: []string{"bg", "fg"}, max: JobGrace},
		{name: "external cmd &", cmd: "/bin/echo bg &", out: []string{"bg"}, max: JobGrace},
		{name: "(sub) &", cmd: "(sleep 0.2; echo sub) &", out: []string{"sub"}, min: 200 * time.Millisecond, max: JobGrace},
		{name: "writes after the line ends", cmd: "sleep 0.2 && echo late &", out: []string{"late"}, min: 200 * time.Millisecond, max: JobGrace},
		{name: "cmd & wait", cmd: "(sleep 0.2; echo a) & wait; echo b", out: []string{"a", "b"}, min: 200 * time.Millisecond, max: JobGrace},
		{name: "process substitution", cmd: "echo ps > >(sleep 0.2; cat)", out: []string{"ps"}, min: 200 * time.Millisecond, max: JobGrace},
		{name: "$(cmd &)", cmd: `echo "[$(sleep 0.2 && echo x &)]"`, out: []string{"[x]"}, min: 200 * time.Millisecond, max: JobGrace},
		{name: "$(fast &)", cmd: `echo "[$(echo fast &)]"`, out: []string{"[fast]"}, max: JobGrace},
		{name: "$((sub &))", cmd: `echo "[$( (sleep 0.2 && echo y &) )]"`, out: []string{"[y]"}, min: 200 * time.Millisecond, max: JobGrace},
		{name: "$(cmd & false) keeps its status", cmd: `x=$(sleep 0.2 && echo z & false) || echo "status $? [$x]"`, out: []string{"1", "[z]", "status"}, min: 200 * time.Millisecond, max: JobGrace},
		{name: "$(cmd > file &)", cmd: `echo "[$({ sleep 3 && touch stopped; } > /dev/null &)]"`, out: []string{"[]"}, max: JobGrace, stopped: true, watch: 4 * time.Second},
		{name: "a function named wait", cmd: "wait() { :; }; sleep 0.2 && echo w &", out: []string{"w"}, min: 200 * time.Millisecond, max: JobGrace},
		{name: "eval", cmd: "eval 'sleep 0.2 && echo ev &'", out: []string{"ev"}, min: 200 * time.Millisecond, max: JobGrace},
		{name: "captured", cmd: "sleep 0.2 && echo cap &", opt: ShellOptions{Capture: true}, capture: "cap\n", min: 200 * time.Millisecond, max: JobGrace},
		{name: "quiet", cmd: "sleep 0.2 && echo q &", opt: ShellOptions{Quiet: true}, min: 200 * time.Millisecond, max: JobGrace},
		{
			// Not the line's own job: not waited for, stopped at once.
			name: "(cmd &)", cmd: "echo fg; (sleep 3 && touch stopped &)",
			out: []string{"fg"}, max: JobGrace, stopped: true, watch: 4 * time.Second,
		},
		{
			name: "outlives the grace", cmd: "echo fg; (sleep 3; echo too-late) & sleep 3 && touch stopped &",
			out: []string{"fg"}, min: JobGrace, max: JobGrace + 2*time.Second, stopped: true, watch: 4 * time.Second,
		},
		{
			// Its SIGKILL comes KillTimeout after its SIGINT: it writes
			// after the command ended, into the dropping writer.
			name: "ignores SIGINT and writes on", cmd: `echo fg; sh -c 'trap "" INT; sleep 2.5; echo too-late' &`,
			out: []string{"fg"}, min: JobGrace, max: JobGrace + 2*time.Second, watch: 3500 * time.Millisecond,
		},
		{
			// What the docs advise for a process meant to run on.
			name: "detached", cmd: `sh -c '(sleep 0.5; touch detached) > /dev/null 2>&1 &'`,
			max: JobGrace, ranOn: "detached", watch: 2 * time.Second,
		},
		{
			name: "stopped by the timeout", cmd: "echo fg; (sleep 3; echo too-late) & sleep 3 && touch stopped &",
			opt: ShellOptions{Timeout: 300 * time.Millisecond},
			out: []string{"fg"}, min: 300 * time.Millisecond, max: JobGrace, stopped: true, watch: 4 * time.Second,
		},
		{
			name: "stopped by the run's cancel", cmd: "echo fg; (sleep 3; echo too-late) & sleep 3 && touch stopped &",
			cancel: 300 * time.Millisecond,
			out:    []string{"fg"}, min: 300 * time.Millisecond, max: JobGrace, stopped: true, watch: 4 * time.Second,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tc.cancel > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.cancel)
				defer cancel()
			}
			dir := t.TempDir()
			c := &testCtx{ctx: ctx, dir: dir, env: os.Environ()}
			start := time.Now()
			res, err := RunShell(c, tc.cmd, tc.opt)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("%v (stderr %q)", err, res.Stderr)
			}
			if took < tc.min || took >= tc.max {
				t.Errorf("took %s, want [%s, %s)", took, tc.min, tc.max)
			}
			// Long enough for a late write to come, and for a job to
			// have finished had it not been stopped.
			time.Sleep(max(time.Until(start.Add(tc.watch)), 100*time.Millisecond))
			if _, err := os.Stat(filepath.Join(dir, "stopped")); tc.stopped && err == nil {
				t.Errorf("the job ran on after it was stopped")
			}
			if _, err := os.Stat(filepath.Join(dir, tc.ranOn)); tc.ranOn != "" && err != nil {
				t.Errorf("the detached process did not run on: %v", err)
			}
			lines := strings.Fields(c.out.String())
			slices.Sort(lines)
			if !slices.Equal(lines, tc.out) {
				t.Errorf("shown %q, want %q", lines, tc.out)
			}
			if kept := strings.Fields(res.Stdout); !tc.opt.Capture && !tc.opt.Quiet && !slices.Equal(slices.Sorted(slices.Values(kept)), tc.out) {
				t.Errorf("kept %q, want %q", kept, tc.out)
			}
			if tc.opt.Capture && res.Stdout != tc.capture {
				t.Errorf("captured %q, want %q", res.Stdout, tc.capture)
			}
		})
	}
}

// TestMayStartJobs: the lines that may leave background jobs (and are
// waited for) and those that cannot.
func TestMayStartJobs(t *testing.T) {
	for line, want := range map[string]bool{
		"echo a; ls -l | wc":       false,
		"if true; then echo x; fi": false,
		"echo $(date) \"${X}\"":    false,
		"ls &":                     true,
		"(ls &)":                   true,
		"{ sleep 1; ls; } &":       true,
		"echo $(sleep 1 &)":        true,
		"cat <(ls)":                true,
		"coproc cat":               true,
		"eval \"$X\"":              true,
		". ./lib.sh":               true,
		"source ./lib.sh":          true,
		"${CMD} arg":               true,
	} {
		f, err := syntax.NewParser().Parse(strings.NewReader(line), "")
		if err != nil {
			t.Fatal(err)
		}
		if got := mayStartJobs(f); got != want {
			t.Errorf("%s: %v, want %v", line, got, want)
		}
	}
}
