//go:build unix

package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"

	"github.com/gxl-dev/gxl/core/retry"
)

// KillTimeout is how long a cancelled command has between SIGINT and
// SIGKILL, and how long gxl waits for output pipes still held open by
// its orphans after it exited (interp.DefaultExecHandler's value).
const KillTimeout = 2 * time.Second

// execHandlers runs external commands as interp.DefaultExecHandler does
// (PATH lookup, environment, exit statuses, SIGINT then SIGKILL when the
// context is cancelled), but follows the context with context.AfterFunc
// instead of exec.CommandContext, which parks a goroutine per command to
// watch it: about 45 µs of the ~600 µs a process start costs on the
// benchmark machine (docs/performance.md). A file the kernel will not
// execute (a script without #!) goes to the default handler, which runs
// it with a new shell.
func execHandlers() interp.RunnerOption {
	return interp.ExecHandlers(func(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
		return func(ctx context.Context, args []string) error {
			return execCommand(ctx, next, args)
		}
	})
}

// textBusy is how execCommand tries again while the executable is busy.
var textBusy = retry.Policy{Attempts: 10, Delay: time.Millisecond, Backoff: 2}

func execCommand(ctx context.Context, next interp.ExecHandlerFunc, args []string) error {
	hc := interp.HandlerCtx(ctx)
	path, err := interp.LookPathDir(hc.Dir, hc.Env, args[0])
	if err != nil {
		fmt.Fprintln(hc.Stderr, err)
		return interp.ExitStatus(127)
	}
	newCmd := func() *exec.Cmd {
		cmd := exec.Command(path)
		cmd.Args = args
		cmd.Env = execEnv(hc.Env)
		cmd.Dir = hc.Dir
		cmd.Stdin, cmd.Stdout, cmd.Stderr = hc.Stdin, hc.Stdout, hc.Stderr
		cmd.WaitDelay = KillTimeout
		return cmd
	}
	// A concurrently forked process may briefly hold the file open for
	// writing (ETXTBSY, go.dev/issue/22315): try again with backoff (about
	// half a second in all); any other error is final.
	var cmd *exec.Cmd
	err = retry.Do(ctx, textBusy, func(context.Context, int) error {
		cmd = newCmd()
		err := cmd.Start()
		if errors.Is(err, syscall.ETXTBSY) {
			return err
		}
		return retry.Permanent(err)
	})
	var re *retry.Error
	if errors.As(err, &re) {
		err = re.Err // the start error as exec gave it, without the count
	}
	if errors.Is(err, syscall.ENOEXEC) {
		return next(ctx, args)
	}
	if err == nil {
		err = waitCancellable(ctx, cmd)
	}
	var ee *exec.ExitError
	var xe *exec.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		if status, ok := ee.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return interp.ExitStatus(128 + int(status.Signal()))
		}
		return interp.ExitStatus(ee.ExitCode())
	case errors.As(err, &xe):
		fmt.Fprintf(hc.Stderr, "%v\n", err)
		return interp.ExitStatus(127)
	case errors.Is(err, exec.ErrWaitDelay):
		// It exited with success, but an orphan kept its output open.
		return nil
	}
	return err
}

// waitCancellable waits for a started command; when ctx ends first, the
// command gets SIGINT, and SIGKILL KillTimeout later.
func waitCancellable(ctx context.Context, cmd *exec.Cmd) error {
	var (
		mu     sync.Mutex
		done   bool
		killer *time.Timer
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		cmd.Process.Signal(os.Interrupt)
		killer = time.AfterFunc(KillTimeout, func() { cmd.Process.Kill() })
	})
	err := cmd.Wait()
	stop()
	mu.Lock()
	done = true
	if killer != nil {
		killer.Stop()
	}
	mu.Unlock()
	return err
}

// execEnv is the environment of a child: the exported string variables
// (as interp's own execEnv builds it).
func execEnv(env expand.Environ) []string {
	list := make([]string, 0, 64)
	for name, vr := range env.Each {
		if !vr.IsSet() {
			// Set globally but unset in the runner: drop it.
			for i, kv := range list {
				if strings.HasPrefix(kv, name+"=") {
					list[i] = ""
				}
			}
		}
		if vr.Exported && vr.Kind == expand.String {
			list = append(list, name+"="+vr.String())
		}
	}
	return list
}
