//go:build unix

package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	err := startAndWait(ctx, hc.Dir, hc.Env, execEnv(hc.Env), args, hc.Stdin, hc.Stdout, hc.Stderr)
	if errors.Is(err, syscall.ENOEXEC) {
		return next(ctx, args)
	}
	return err
}

// runDirect runs a command line of plain words (directArgs) as the shell
// would, without it (dir checked by commandDir): the same environment
// (interp's list, sorted, the last of a name winning), the same PATH
// lookup, start (none once ctx is done), wait and exit statuses as
// execCommand. It returns what runner.Run would; ran is false when the
// kernel would not execute the file (a script without #!), which only
// the shell runs.
func runDirect(ctx context.Context, dir string, env, args []string, stdin io.Reader, stdout, stderr io.Writer) (ran bool, err error) {
	if err := ctx.Err(); err != nil {
		return true, err // the shell starts nothing once stopped
	}
	environ, list := childEnv(env)
	err = startAndWait(ctx, dir, environ, list, args, stdin, stdout, stderr)
	if errors.Is(err, syscall.ENOEXEC) {
		return false, nil
	}
	return true, err
}

// envCache is the last environment childEnv built. The runtime hands out
// the same clipped slice for as long as the program's variables do not
// change (runtime's environ), so the slice itself is the key: kept here,
// it stays alive and unchanged, and no other slice can have its address.
var envCache struct {
	sync.Mutex
	key     []string
	environ expand.Environ
	list    []string
}

// childEnv is interp's view of env and the environment a child gets (as
// the shell builds them, execEnv), built once per distinct env slice
// rather than sorted again for every command.
func childEnv(env []string) (expand.Environ, []string) {
	envCache.Lock()
	defer envCache.Unlock()
	if len(env) == 0 || len(env) != len(envCache.key) || &env[0] != &envCache.key[0] {
		environ := expand.ListEnviron(env...)
		envCache.key, envCache.environ, envCache.list = env, environ, execEnv(environ)
	}
	return envCache.environ, envCache.list
}

// startAndWait looks args[0] up in env's PATH, starts it with the
// environment list and waits for it. The result is an interp.ExitStatus,
// ctx's error when a cancelled command died of the signal, or nil. A file
// the kernel will not execute gives syscall.ENOEXEC, before anything ran.
func startAndWait(ctx context.Context, dir string, env expand.Environ, list, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	path, err := interp.LookPathDir(dir, env, args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return interp.ExitStatus(127)
	}
	newCmd := func() *exec.Cmd {
		cmd := exec.Command(path)
		cmd.Args = args
		cmd.Env = list
		cmd.Dir = dir
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
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
		return err
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
		fmt.Fprintf(stderr, "%v\n", err)
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
