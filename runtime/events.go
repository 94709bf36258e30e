package runtime

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/logfmt"
	"github.com/gxl-dev/gxl/core/progress"
)

// The run's logger (Options.Log) is the one writer of events. Every event
// the runtime writes carries where it comes from: the run id (the engine
// adds it), the module of a system stage, the flow and the statement's
// position — parallel stages can be told apart by them.

// flowName is the innermost frame of the running sequence (a flow, an fn,
// an env), else the selected top-level flow.
func (x *exec) flowName() string {
	if n := len(x.stack); n > 0 {
		return x.stack[n-1].Name
	}
	return x.topName
}

// log is the run's logger for the running statement.
func (x *exec) log() *zap.Logger { return x.logAt(x.site) }

// logAt is the run's logger with the flow and the position sp.
func (x *exec) logAt(sp diag.Span) *zap.Logger {
	return x.logger.With(x.where(sp, 0)...)
}

// where are the fields of the flow and the position sp, with room for n
// more.
func (x *exec) where(sp diag.Span, n int) []zap.Field {
	fields := make([]zap.Field, 0, 2+n)
	if f := x.flowName(); f != "" {
		fields = append(fields, zap.String(logfmt.KeyFlow, f))
	}
	if sp.IsValid() {
		fields = append(fields, zap.String(logfmt.KeyAt, sp.Start.String()))
	}
	return fields
}

// infoAt logs msg at info level with the flow and the position sp, and
// builds nothing when info is off (-q): it runs twice for every flow.
func (x *exec) infoAt(sp diag.Span, msg string, fields ...zap.Field) {
	if ce := x.logger.Check(zap.InfoLevel, msg); ce != nil {
		ce.Write(append(x.where(sp, len(fields)), fields...)...)
	}
}

// eventWriter turns the output of a statement — a command's stdout or
// stderr, gx.echo — into "output" events, one per line, when the run's
// output is a stream of events (Options.Events, --log-format json). An
// unfinished line is written when the statement ends (flushOutput).
type eventWriter struct {
	x      *exec
	stream string
	module string // set for a module's lines under a stage (Unit)
	mu     sync.Mutex
	buf    bytes.Buffer
}

func (w *eventWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		line := string(w.buf.Next(i + 1))
		w.emit(line[:i])
	}
	return len(p), nil
}

// Flush writes an unfinished line.
func (w *eventWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.emit(w.buf.String())
		w.buf.Reset()
	}
}

// emit writes one output event. Output is not a log message: it is
// written whatever the level (-q hides commands' output before it gets
// here, not gx.echo).
func (w *eventWriter) emit(line string) {
	fields := []zap.Field{zap.String("stream", w.stream), zap.String("text", line)}
	if w.module != "" {
		fields = append(fields, zap.String(logfmt.KeyModule, w.module))
	}
	w.x.log().Core().Write(zapcore.Entry{Level: zapcore.InfoLevel, Time: time.Now(), Message: "output"}, fields)
}

// Unit is the writer of one module's lines under a system stage
// (system/sched asks for it): its events carry the module.
func (w *eventWriter) Unit(name string) io.Writer {
	return &eventWriter{x: w.x, stream: w.stream, module: name}
}

// output returns the statement's stdout or stderr: the run's streams, or
// event writers under Options.Events.
func (x *exec) output(stderr bool) io.Writer {
	if !x.r.opt.Events {
		if stderr {
			return x.r.opt.Stderr
		}
		return x.r.opt.Stdout
	}
	if stderr {
		if x.errW == nil {
			x.errW = &eventWriter{x: x, stream: "stderr"}
		}
		return x.errW
	}
	if x.outW == nil {
		x.outW = &eventWriter{x: x, stream: "stdout"}
	}
	return x.outW
}

// flushOutput writes the unfinished lines of the statement's output.
func (x *exec) flushOutput() {
	if x.outW != nil {
		x.outW.Flush()
	}
	if x.errW != nil {
		x.errW.Flush()
	}
}

// warn reports check warnings of a file loaded during the run.
func (x *exec) warn(ds diag.List, src diag.Sources) {
	if x.r.opt.Warn == nil {
		return
	}
	var ws diag.List
	for _, d := range ds {
		if d.Severity != diag.Error {
			ws = append(ws, d)
		}
	}
	if len(ws) > 0 {
		x.r.opt.Warn(ws, src)
	}
}

// waits is the progress.Reporter of a built-in call: it shows a wait as a
// live line on a terminal (Options.Live), else as a plain log line at the
// start; the end is one log line with the time waited (an event under
// Options.Events). Waiting code reaches it through the call's context
// (progress.Start).
type waits struct {
	x    *exec
	site diag.Span
}

func (w waits) Start(label string) progress.Handle {
	h := &wait{log: w.x.logAt(w.site), label: label, began: time.Now(), mask: w.x.mask}
	if live := w.x.r.opt.Live; live != nil && !w.x.r.opt.Events {
		text := "waiting for " + w.x.mask(label)
		if m := w.x.r.opt.module; m != "" {
			text = "[" + m + "] " + text
		}
		h.line = live.Add(text)
		return h
	}
	h.log.Info("waiting for " + label)
	return h
}

// wait is one wait being shown.
type wait struct {
	log   *zap.Logger
	label string
	began time.Time
	line  *progress.Line
	mask  func(string) string
}

func (h *wait) Update(status string) {
	if h.line != nil {
		h.line.Set(h.mask(status))
	}
}

func (h *wait) Done(err error) {
	if h.line != nil {
		h.line.Remove()
	}
	took := zap.Duration("took", time.Since(h.began))
	if err != nil {
		e, _, _ := strings.Cut(err.Error(), "\n")
		h.log.Info("stopped waiting for "+h.label, took, zap.String("error", e))
		return
	}
	h.log.Info("waited for "+h.label, took)
}
