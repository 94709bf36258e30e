package repl

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/complete"
)

// Completer completes REPL input from the checker's data: flows and envs
// of the loaded Program, built-ins and their argument names from the
// registry, fns and activities with their parameters, variables in scope
// and the debugger's commands. It is safe for concurrent use: the session
// updates what it completes from while the line editor asks.
type Completer struct {
	mu     sync.Mutex
	prog   *check.Program
	reg    *builtin.Registry
	vars   []string
	breaks []int
}

// NewCompleter returns a completer over prog (may be nil) and reg.
func NewCompleter(prog *check.Program, reg *builtin.Registry) *Completer {
	return &Completer{prog: prog, reg: reg}
}

// update replaces what the completer knows.
func (c *Completer) update(prog *check.Program, vars []string, breaks []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prog, c.vars, c.breaks = prog, vars, breaks
}

// commands lists the debugger's commands (completed after a leading `:`).
var commands = []string{":load", ":reload", ":env", ":vars", ":set", ":run", ":plan", ":break", ":breaks",
	":delete", ":step", ":next", ":continue", ":retry", ":skip", ":abort", ":where", ":list", ":help", ":quit"}

// Complete returns the candidates for the word that ends at pos in line,
// each a whole word, and the length in bytes of the part of that word
// already typed.
func (c *Completer) Complete(line string, pos int) ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pos > len(line) {
		pos = len(line)
	}
	head := line[:pos]
	trimmed := strings.TrimLeft(head, " \t")
	if strings.HasPrefix(trimmed, ":") {
		return c.command(trimmed)
	}
	return c.gxl(head)
}

// command completes a debugger command or its argument.
func (c *Completer) command(head string) ([]string, int) {
	sp := strings.IndexAny(head, " \t")
	if sp < 0 {
		return filter(commands, head), len(head)
	}
	cmd := head[:sp]
	rest := strings.TrimLeft(head[sp:], " \t")
	word := rest
	switch cmd {
	case ":run", ":plan":
		return filter(c.flows(), word), len(word)
	case ":break":
		return filter(append(c.flows(), c.files()...), word), len(word)
	case ":env":
		return filter(c.envs(), word), len(word)
	case ":vars":
		return filterFold(c.varNames(), word), len(word)
	case ":set":
		if strings.ContainsAny(rest, " =") {
			return nil, 0
		}
		return filterFold(c.varNames(), word), len(word)
	case ":delete":
		var ids []string
		for _, id := range c.breaks {
			ids = append(ids, strconv.Itoa(id))
		}
		return filter(ids, word), len(word)
	case ":load":
		return pathCandidates(word), len(word)
	case ":help":
		var names []string
		for _, n := range commands {
			names = append(names, strings.TrimPrefix(n, ":"))
		}
		return filter(names, word), len(word)
	}
	return nil, 0
}

// gxl completes GXL input with the one completer of GXL source
// (lang/complete): variables after `${`, argument names inside a call,
// built-ins, modules, fns and activities elsewhere.
func (c *Completer) gxl(head string) ([]string, int) {
	items, n := complete.Source{Prog: c.prog, Reg: c.reg, Vars: c.vars}.Complete(head)
	return complete.Labels(items), n
}

// flows are the flow names a run accepts: unqualified for main, qualified
// for every module.
func (c *Completer) flows() []string {
	if c.prog == nil {
		return nil
	}
	var out []string
	for _, m := range c.prog.Mods {
		for _, f := range m.Flows {
			if m.Name == "main" {
				out = append(out, f.Name)
			}
			out = append(out, m.Name+"."+f.Name)
		}
	}
	return uniq(out)
}

// envs are the env names -e accepts: unqualified from main, env and envs,
// qualified from every module.
func (c *Completer) envs() []string {
	if c.prog == nil {
		return nil
	}
	var out []string
	for _, m := range c.prog.Mods {
		for _, e := range m.Envs {
			if m.Name == "main" || m.Name == "env" || m.Name == "envs" {
				out = append(out, e.Name)
			}
			out = append(out, m.Name+"."+e.Name)
		}
	}
	return uniq(out)
}

// files are the program's files as FILE: for line breakpoints.
func (c *Completer) files() []string {
	if c.prog == nil {
		return nil
	}
	var out []string
	for _, f := range c.prog.Files {
		out = append(out, f.Path+":")
	}
	return out
}

// varNames are the variables in scope and the ones the program's envs
// and module properties export.
func (c *Completer) varNames() []string {
	return complete.Labels(complete.Source{Prog: c.prog, Vars: c.vars}.Variables())
}

func filter(cands []string, prefix string) []string {
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// filterFold matches case-insensitively (variable names are) and keeps
// the case the user typed for the part already written.
func filterFold(cands []string, prefix string) []string {
	var out []string
	for _, c := range cands {
		if len(c) >= len(prefix) && strings.EqualFold(c[:len(prefix)], prefix) {
			out = append(out, prefix+c[len(prefix):])
		}
	}
	sort.Strings(out)
	return uniq(out)
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// pathCandidates completes a file path: folders with a trailing slash and
// .gxl files.
func pathCandidates(word string) []string {
	dir, base := filepath.Split(word)
	list := dir
	if list == "" {
		list = "."
	}
	entries, err := os.ReadDir(list)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		if e.IsDir() {
			out = append(out, dir+name+"/")
		} else if strings.HasSuffix(name, ".gxl") {
			out = append(out, dir+name)
		}
	}
	sort.Strings(out)
	return out
}
