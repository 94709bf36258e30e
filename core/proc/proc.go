// Package proc runs long-lived helper servers (etcd, kube-apiserver,
// postgres, redis) as child processes of the harness: started on free
// loopback ports, stopped by PID (SIGTERM, then SIGKILL) and always waited
// for, so no zombie is left behind (PID 1 on CI machines does not reap).
package proc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/gxl-dev/gxl/core/retry"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Proc is a running child process whose output goes to a log file.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string

	done    chan struct{}
	waitErr error
	once    sync.Once
}

// Start launches name with args, logging stdout and stderr to logPath.
// The process gets its own process group so that Stop reaches its children.
func Start(name, logPath string, cmd *exec.Cmd) (*Proc, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

// PID returns the process id.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has ended and been waited for.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Signal sends sig to the process group.
func (p *Proc) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	return syscall.Kill(-p.PID(), sig)
}

// Kill sends SIGKILL and waits for the process to end (a crash drill).
func (p *Proc) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM, waits up to grace, then SIGKILL, and waits.
func (p *Proc) Stop(grace time.Duration) {
	p.once.Do(func() {
		if p.Exited() {
			return
		}
		_ = p.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = p.Signal(syscall.SIGKILL)
			<-p.done
		}
	})
}

// Tail returns the last n bytes of the log (for error messages).
func (p *Proc) Tail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// WaitFor polls ready until it returns nil, the process exits, or ctx ends.
func (p *Proc) WaitFor(ctx context.Context, every time.Duration, ready func(context.Context) error) error {
	err := retry.Poll(ctx, every, 0, p.Name+" to be ready", func(ctx context.Context) (bool, error) {
		if p.Exited() {
			return false, retry.Permanent(fmt.Errorf("%s exited before it was ready (%v)", p.Name, p.waitErr))
		}
		err := ready(ctx)
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("%w; log %s:\n%s", err, p.LogPath, p.Tail(2000))
	}
	return nil
}

// ErrNotReady is a convenience error for readiness probes.
var ErrNotReady = errors.New("not ready")
