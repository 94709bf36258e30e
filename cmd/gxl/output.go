package main

import (
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/logfmt"
	"github.com/gxl-dev/gxl/core/progress"
	"github.com/gxl-dev/gxl/core/tty"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
)

// output is how a run speaks: the logger is the one writer of its events
// (console: gxl's compact lines, coloured when core/tty says so; json: one
// object a line). Under json everything a run writes goes through it —
// diagnostics, warnings of modules, output lines, stage tables, the
// failure and the summary — so stdout and stderr hold JSON only.
type output struct {
	s    *streams
	json bool
	log  *zap.Logger
	// run is the run's id once it has one: the diagnostics reported
	// while it runs (warnings of the modules a stage checks) carry it.
	run string
}

// newOutput makes the output of a run for --log-format format.
func newOutput(s *streams, format string, verbose, quiet bool) (*output, error) {
	var enc zapcore.Encoder
	o := &output{s: s}
	switch format {
	case "console":
		enc = logfmt.Console(s.color(s.err))
	case "json":
		enc = logfmt.JSON()
		o.json = true
	default:
		return nil, failf(exitUsage, "--log-format must be console or json")
	}
	level := zapcore.InfoLevel
	if verbose {
		level = zapcore.DebugLevel
	}
	if quiet {
		level = zapcore.WarnLevel
	}
	o.log = zap.New(zapcore.NewCore(enc, zapcore.AddSync(s.err), level))
	if o.json {
		// Errors execute reports (exit codes 1 and 2) become events too.
		for p := s; p != nil; p = p.parent {
			p.events = o.log
		}
	}
	return o, nil
}

// liveDisplay is the display of waits of a run: on a terminal (core/tty.Live)
// in the console format; nil otherwise (plain lines, or events).
func liveDisplay(s *streams, format string) *progress.Live {
	if format != "console" || !tty.Live(s.err) {
		return nil
	}
	return progress.NewLive(s.err, tty.Width(s.err))
}

// liveStreams are s with stderr, and stdout when it is the terminal too,
// going through the live display, so live lines and other output never
// mix.
func liveStreams(s *streams, live *progress.Live) *streams {
	c := *s
	c.parent, c.live = s, live
	c.err = live.Writer(s.err)
	if tty.IsTerminal(s.out) {
		c.out = live.Writer(s.out)
	}
	return &c
}

// diags reports diagnostics: rendered with source lines and carets in
// the console, one event each under json.
func (o *output) diags(ds diag.List, src diag.Sources) {
	if len(ds) == 0 {
		return
	}
	if !o.json {
		diag.Render(o.s.err, ds, src, diag.RenderOptions{Color: o.s.color(o.s.err)})
		return
	}
	var extra []zap.Field
	if o.run != "" {
		extra = append(extra, zap.String(logfmt.KeyRun, o.run))
	}
	for _, d := range ds.Normalize() {
		diagEvent(o.log, d, extra)
	}
}

// diagEvent logs d as one event: its position as at, its code, hint and
// notes as fields; the level is its severity's.
func diagEvent(log *zap.Logger, d diag.Diagnostic, extra []zap.Field) {
	fields := []zap.Field{zap.String("code", d.Code)}
	if d.Span.IsValid() {
		fields = append(fields, zap.String(logfmt.KeyAt, d.Span.Start.String()))
	}
	if d.Hint != "" {
		fields = append(fields, zap.String("hint", d.Hint))
	}
	if len(d.Notes) > 0 {
		fields = append(fields, zap.Strings("notes", d.Notes))
	}
	fields = append(fields, extra...)
	switch d.Severity {
	case diag.Error:
		log.Error(d.Summary, fields...)
	case diag.Warning:
		log.Warn(d.Summary, fields...)
	default:
		log.Info(d.Summary, fields...)
	}
}

// failure reports a failed step once: in the console as the one
// diagnostic rendering (position, source line, caret, hint, flow stack,
// how to resume); under json as one error event carrying the same facts
// with the run id, the module and the flow. The runtime itself does not
// log the failure at error level.
func (o *output) failure(se *runtime.StepError, prog *check.Program, runID string) {
	d := se.Diagnostic()
	resume := "gxl run --resume " + runID
	if o.json {
		stack := make([]string, len(se.Frames))
		for i, f := range se.Frames {
			stack[i] = f.String()
		}
		fields := []zap.Field{zap.String(logfmt.KeyRun, runID), zap.String("error", d.Summary), zap.Strings("stack", stack), zap.String("resume", resume)}
		if se.Module != "" {
			fields = append(fields, zap.String(logfmt.KeyModule, se.Module))
		}
		if n := len(se.Frames); n > 0 {
			fields = append(fields, zap.String(logfmt.KeyFlow, se.Frames[n-1].Name))
		}
		if len(d.Notes) > 0 && se.Stop != nil {
			fields = append(fields, zap.String("interrupted", strings.TrimPrefix(d.Notes[0], "interrupted: ")))
		}
		d.Notes = nil // the stack and interrupted fields say it
		diagEvent(o.log, diag.Diagnostic{Severity: diag.Error, Code: d.Code, Span: d.Span, Summary: "step failed", Hint: d.Hint}, fields)
		return
	}
	// The program's files, and any other (a nested run's, a module's)
	// from disk.
	srcs := &diag.FileSources{}
	for f, src := range prog.Sources {
		srcs.Add(f, src)
	}
	o.s.err.Write([]byte("\n"))
	diag.RenderOne(o.s.err, d.WithNote("resume with: %s", resume), srcs, diag.RenderOptions{Color: o.s.color(o.s.err)})
}
