package repl

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/runtime"
)

// breakpoint stops a run at the first statement of a flow, or at the
// statements of a source line.
type breakpoint struct {
	id   int
	spec string // as typed
	// Flow breakpoints.
	flow  string   // qualified name (the frame's name)
	first ast.Stmt // the flow body's first statement
	// Line breakpoints.
	file string // the path as the program knows it
	line int
	hits int
}

func (b *breakpoint) String() string {
	if b.flow != "" {
		return "flow " + b.flow
	}
	if b.file != "" {
		return fmt.Sprintf("%s:%d", b.file, b.line)
	}
	return b.spec + " (not in the loaded program)"
}

// addBreak sets a breakpoint: FLOW (main's flows unqualified, mod.flow)
// or FILE:LINE.
func (s *Session) addBreak(spec string) error {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return fmt.Errorf(":break takes a flow name or FILE:LINE")
	}
	b := &breakpoint{spec: spec}
	if err := s.resolveBreak(b, true); err != nil {
		return err
	}
	for _, o := range s.breaks {
		if o.String() == b.String() {
			return fmt.Errorf("breakpoint %d is already at %s", o.id, o)
		}
	}
	s.nextBP++
	b.id = s.nextBP
	s.breaks = append(s.breaks, b)
	fmt.Fprintf(s.out, "breakpoint %d at %s\n", b.id, b)
	return nil
}

// resolveBreak finds a breakpoint's flow or line in the loaded program.
func (s *Session) resolveBreak(b *breakpoint, verbose bool) error {
	b.flow, b.first, b.file, b.line = "", nil, "", 0
	if i := strings.LastIndexByte(b.spec, ':'); i > 0 {
		n, err := strconv.Atoi(b.spec[i+1:])
		if err != nil || n < 1 {
			return fmt.Errorf("%q: the line must be a number: FILE:LINE", b.spec)
		}
		return s.resolveLine(b, b.spec[:i], n, verbose)
	}
	f, err := runtime.ResolveFlow(s.prog, b.spec)
	if err != nil {
		return err
	}
	if f.Decl.Body == nil || len(f.Decl.Body.Stmts) == 0 {
		return fmt.Errorf("flow %s has no statements to stop at; break on the flows of its pipeline", f.QualifiedName())
	}
	b.flow, b.first = f.QualifiedName(), f.Decl.Body.Stmts[0]
	return nil
}

// resolveLine finds the file among the program's and the first line at
// or after line that starts a statement.
func (s *Session) resolveLine(b *breakpoint, file string, line int, verbose bool) error {
	var found *ast.File
	for _, f := range s.prog.Files {
		if sameFile(f.Path, file) {
			found = f
			break
		}
	}
	if found == nil {
		var names []string
		for _, f := range s.prog.Files {
			names = append(names, f.Path)
		}
		if len(names) == 0 {
			return fmt.Errorf("%s is not a file of the loaded program (no file is loaded)", file)
		}
		return fmt.Errorf("%s is not a file of the loaded program (files: %s)", file, strings.Join(names, ", "))
	}
	best := 0
	for _, st := range stoppable(found) {
		l := st.Span().Start.Line
		if l >= line && (best == 0 || l < best) {
			best = l
		}
	}
	if best == 0 {
		return fmt.Errorf("no statement at or after %s:%d", found.Path, line)
	}
	if best != line && verbose {
		fmt.Fprintf(s.out, "no statement on line %d; the breakpoint goes to line %d\n", line, best)
	}
	b.file, b.line = found.Path, best
	return nil
}

// stoppable lists the statements of a file that the runtime announces
// to its hooks: those of flow and fn bodies (nested ones too) and the
// items of env bodies. Module and env properties are exported without.
func stoppable(f *ast.File) []ast.Stmt {
	var out []ast.Stmt
	add := func(b *ast.Block, props bool) {
		if b == nil {
			return
		}
		for _, st := range b.Stmts {
			if _, ok := st.(*ast.Assign); ok && !props {
				continue
			}
			ast.Inspect(st, func(n ast.Node) bool {
				if s, ok := n.(ast.Stmt); ok {
					out = append(out, s)
				}
				_, vars := n.(*ast.VarsBlock) // its assignments run as one statement
				return !vars
			})
		}
	}
	for _, m := range f.Mods() {
		for _, it := range m.Items {
			switch d := it.(type) {
			case *ast.Flow:
				add(d.Body, true)
			case *ast.Fn:
				add(d.Body, true)
			case *ast.Env:
				add(d.Body, false)
			}
		}
	}
	return out
}

// sameFile matches a position's file against a file named by the user:
// the same path, the same absolute path, or the same base name when the
// user gave no folder.
func sameFile(have, want string) bool {
	if filepath.Clean(have) == filepath.Clean(want) {
		return true
	}
	ah, err1 := filepath.Abs(have)
	aw, err2 := filepath.Abs(want)
	if err1 == nil && err2 == nil && ah == aw {
		return true
	}
	return !strings.ContainsRune(want, filepath.Separator) && filepath.Base(have) == want
}

// hitBreak returns the breakpoint the event stops at, if any.
func (s *Session) hitBreak(ev *runtime.Event) *breakpoint {
	p := ev.Span.Start
	for _, b := range s.breaks {
		switch {
		case b.flow != "":
			if n := len(ev.Stack); n > 0 && ev.Stack[n-1].Name == b.flow && ev.Stmt == b.first {
				return b
			}
		case b.file != "":
			if p.Line == b.line && sameFile(p.File, b.file) && !(s.lastLine.Line == p.Line && s.lastLine.File == p.File) {
				return b
			}
		}
	}
	return nil
}

// breakOnLine reports whether a breakpoint stops on file:line (for :list).
func (s *Session) breakOnLine(file string, line int) bool {
	for _, b := range s.breaks {
		if b.file != "" && b.line == line && sameFile(file, b.file) {
			return true
		}
		if b.first != nil && b.first.Span().Start.Line == line && sameFile(file, b.first.Span().Start.File) {
			return true
		}
	}
	return false
}

func (s *Session) listBreaks() {
	if len(s.breaks) == 0 {
		fmt.Fprintln(s.out, "no breakpoints")
		return
	}
	for _, b := range s.breaks {
		fmt.Fprintf(s.out, "%3d  %-40s hits %d\n", b.id, b.String(), b.hits)
	}
}

func (s *Session) deleteBreak(arg string) error {
	id, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil {
		return fmt.Errorf(":delete takes a breakpoint number (see :breaks)")
	}
	for i, b := range s.breaks {
		if b.id == id {
			s.breaks = append(s.breaks[:i], s.breaks[i+1:]...)
			fmt.Fprintf(s.out, "deleted breakpoint %d (%s)\n", id, b)
			return nil
		}
	}
	return fmt.Errorf("no breakpoint %d (see :breaks)", id)
}
