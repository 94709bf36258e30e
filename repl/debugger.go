package repl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/runtime"
)

var (
	_ runtime.Hooks         = (*Session)(nil)
	_ runtime.StepContexter = (*Session)(nil)
)

// Attach tells the session which runner is running with it as hooks
// (`gxl run --debug`); input at a stop is evaluated with that runner.
func (s *Session) Attach(r *runtime.Runner) {
	s.active = r
	s.mode = modeRun
	s.decided = nil
	s.lastLine = diag.Pos{}
	s.setRunning(r != nil)
}

// Quit reports whether the user asked to leave (:quit).
func (s *Session) Quit() bool { return s.quitting }

// StepContext implements runtime.StepContexter: Ctrl-C cancels the
// innermost running statement, not the run and not the session.
func (s *Session) StepContext(parent context.Context) (context.Context, func()) {
	return s.pushCancel(parent)
}

// Before implements runtime.Hooks: it stops at breakpoints and while
// stepping, and runs the prompt until the user resumes.
func (s *Session) Before(ev *runtime.Event) error {
	if s.mode == modeDetached {
		s.lastLine = ev.Span.Start
		return nil
	}
	here := false
	switch s.mode {
	case modeStep:
		here = true
	case modeNext:
		here = len(ev.Stack) <= s.nextDepth
	}
	if s.takePause() {
		here = true // Ctrl-C between statements
	}
	bp := s.hitBreak(ev)
	s.lastLine = ev.Span.Start
	if !here && bp == nil {
		return nil
	}
	if bp != nil {
		bp.hits++
	}
	act := s.pause(&stop{ev: ev, bp: bp, runr: s.active})
	switch act {
	case actStep:
		s.mode = modeStep
	case actNext:
		s.mode, s.nextDepth = modeNext, len(ev.Stack)
	case actAbort, actQuit:
		s.mode = modeDetached
		fmt.Fprintln(s.out, "aborting the run (undo flows of an open transaction run)")
		return errAborted
	default:
		s.mode = modeRun
	}
	return nil
}

// OnError implements runtime.Hooks: the prompt opens on the failing
// statement with its variables in scope; :retry runs it again, :skip
// goes past it, :continue lets the run fail (and its undo flows run).
func (s *Session) OnError(ev *runtime.Event, err error) runtime.Decision {
	if s.mode == modeDetached || err == s.decided || errors.Is(err, errAborted) {
		return runtime.Fail
	}
	st := &stop{ev: ev, err: err, runr: s.active}
	if s.takeInterrupted() {
		st.interrupted = true
	}
	switch s.pause(st) {
	case actRetry:
		return runtime.Retry
	case actSkip:
		return runtime.Skip
	case actAbort, actQuit:
		s.mode = modeDetached
	}
	s.decided = err
	fmt.Fprintln(s.out, "the run fails (undo flows of an open transaction run)")
	return runtime.Fail
}

// pause shows where the run stopped and reads commands until one resumes it.
func (s *Session) pause(st *stop) action {
	if err := s.ensureEditor(); err != nil {
		fmt.Fprintf(s.errw, "gxl: cannot open the prompt: %v\n", err)
		s.mode = modeDetached
		return actContinue
	}
	prev := s.stopped
	s.stopped = st
	defer func() {
		s.stopped = prev
		// A Ctrl-C that reached the process late (the statement it was
		// meant for already stopped) must not stop the next one too.
		s.takePause()
		s.takeInterrupted()
	}()
	s.printStop(st)
	for {
		text, err := s.readInput(stopPrompt(st))
		if err != nil {
			fmt.Fprintln(s.out, "end of input: the run goes on without stopping")
			s.mode = modeDetached
			return actContinue
		}
		if act := s.handle(text, st); act != actNone {
			return act
		}
	}
}

func stopPrompt(st *stop) string {
	name := "?"
	if n := len(st.ev.Stack); n > 0 {
		name = st.ev.Stack[n-1].Name
	}
	if st.err != nil {
		return "gxl[" + name + " failed]> "
	}
	return "gxl[" + name + "]> "
}

// printStop says where the run stopped, and why.
func (s *Session) printStop(st *stop) {
	ev := st.ev
	name := frameName(ev)
	switch {
	case st.err != nil && st.interrupted:
		fmt.Fprintf(s.out, "interrupted: %s at %s\n", name, ev.Span.Start)
	case st.err != nil:
		fmt.Fprintf(s.out, "step failed: %s at %s\n", name, failPos(st))
		fmt.Fprintf(s.out, "  error: %s\n", s.errorText(st.err, ev.Vars))
	case st.bp != nil:
		fmt.Fprintf(s.out, "breakpoint %d, %s at %s\n", st.bp.id, name, ev.Span.Start)
	default:
		fmt.Fprintf(s.out, "%s at %s\n", name, ev.Span.Start)
	}
	s.printLine(ev.Span.Start, "=>")
	if st.err != nil {
		fmt.Fprintln(s.out, "  change variables, then :retry; or :skip the statement; :continue lets the run fail")
	}
}

// failPos is where a failure happened: the diagnostic's position when it
// has one inside the statement, else the statement's.
func failPos(st *stop) diag.Pos {
	var se *runtime.StepError
	if errors.As(st.err, &se) && se.Span.IsValid() {
		return se.Span.Start
	}
	return st.ev.Span.Start
}

func frameName(ev *runtime.Event) string {
	if n := len(ev.Stack); n > 0 {
		return ev.Stack[n-1].Name
	}
	return "(no flow)"
}

// printLine prints one source line with a marker.
func (s *Session) printLine(p diag.Pos, marker string) {
	if line, ok := s.srcs.line(p.File, p.Line); ok {
		fmt.Fprintf(s.out, "%2s %4d | %s\n", marker, p.Line, line)
	}
}

// errorText is a failure's message without its position, secrets masked.
func (s *Session) errorText(err error, vars *runtime.Scope) string {
	var se *runtime.StepError
	msg := err.Error()
	if errors.As(err, &se) {
		var d diag.Diagnostic
		if errors.As(se.Err, &d) {
			msg = d.Summary
			if d.Hint != "" {
				msg += " (hint: " + d.Hint + ")"
			}
		} else {
			msg = se.Err.Error()
		}
	}
	if vars != nil {
		msg = vars.Mask(msg)
	}
	return msg
}

// where prints the flow stack, innermost first, with the position each
// frame is at: the current statement, then the calls that led to it.
func (s *Session) where(st *stop) {
	stack := st.ev.Stack
	for i := len(stack) - 1; i >= 0; i-- {
		at := st.ev.Span
		if i < len(stack)-1 {
			at = stack[i+1].Call
		}
		pos := "-"
		if at.IsValid() {
			pos = at.Start.String()
		}
		fmt.Fprintf(s.out, "#%d  %-28s at %-22s (defined at %s)\n", len(stack)-1-i, stack[i].Name, pos, stack[i].At.Start)
	}
}

// list prints the source around the current statement.
func (s *Session) list(st *stop) {
	p := st.ev.Span.Start
	src := s.srcs.Source(p.File)
	if src == nil {
		fmt.Fprintf(s.out, "no source for %s\n", p.File)
		return
	}
	n := strings.Count(string(src), "\n") + 1
	from, to := max(1, p.Line-5), min(n, p.Line+5)
	for l := from; l <= to; l++ {
		marker := ""
		if s.breakOnLine(p.File, l) {
			marker = "*"
		}
		if l == p.Line {
			marker += "=>"
		}
		s.printLine(diag.Pos{File: p.File, Line: l}, marker)
	}
}
