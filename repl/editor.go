package repl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/chzyer/readline"
)

// ErrInterrupt is returned by a LineEditor when Ctrl-C is pressed at the
// prompt: the line being typed is dropped, the session goes on.
var ErrInterrupt = errors.New("interrupted")

// LineEditor reads the lines typed at the prompt.
type LineEditor interface {
	// ReadLine shows prompt and returns the line without its newline;
	// io.EOF at the end of input (Ctrl-D), ErrInterrupt on Ctrl-C.
	ReadLine(prompt string) (string, error)
	// AddHistory records a line in the history (the session masks it
	// first, see historyText).
	AddHistory(line string)
	Close() error
}

// HistoryFile is where the prompt's history is kept:
// os.UserCacheDir()/gxl/repl_history ("" when there is no cache dir).
func HistoryFile() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "gxl", "repl_history")
}

// readlineEditor is the terminal line editor (github.com/chzyer/readline):
// cursor keys, history search, tab completion.
type readlineEditor struct {
	rl   *readline.Instance
	hist *historyStore // nil: history only in memory
}

// NewTerminalEditor returns a line editor on the terminal, with the
// history in historyFile ("" for none) and c for tab completion. The
// history file is written by gxl, not by readline, so that it is created
// 0600 (an existing one is made 0600) and holds only the lines the
// session hands to AddHistory, which it has masked.
func NewTerminalEditor(stdin io.ReadCloser, stdout, stderr io.Writer, historyFile string, c *Completer) (LineEditor, error) {
	var hist *historyStore
	var past []string
	if historyFile != "" {
		// Without a usable history file the prompt still works, with
		// history in memory only.
		hist, past, _ = openHistory(historyFile)
	}
	cfg := &readline.Config{
		Prompt:                 "gxl> ",
		HistoryLimit:           historyLimit,
		DisableAutoSaveHistory: true,
		HistorySearchFold:      true,
		InterruptPrompt:        "^C",
		Stdin:                  stdin,
		Stdout:                 nopWriteCloser{stdout},
		Stderr:                 nopWriteCloser{stderr},
	}
	if c != nil {
		cfg.AutoComplete = readlineCompleter{c}
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		if hist != nil {
			hist.Close()
		}
		return nil, err
	}
	for _, l := range past {
		_ = rl.SaveHistory(l)
	}
	return &readlineEditor{rl: rl, hist: hist}, nil
}

func (e *readlineEditor) ReadLine(prompt string) (string, error) {
	e.rl.SetPrompt(prompt)
	line, err := e.rl.Readline()
	switch {
	case errors.Is(err, readline.ErrInterrupt):
		return "", ErrInterrupt
	case err != nil:
		return "", err
	}
	return line, nil
}

func (e *readlineEditor) AddHistory(line string) {
	if strings.TrimSpace(line) == "" {
		return
	}
	_ = e.rl.SaveHistory(line)
	if e.hist != nil {
		_ = e.hist.Append(line)
	}
}

func (e *readlineEditor) Close() error {
	if e.hist != nil {
		e.hist.Close()
	}
	return e.rl.Close()
}

// readlineCompleter adapts Completer to readline: candidates are returned
// as the part still to be typed.
type readlineCompleter struct{ c *Completer }

func (r readlineCompleter) Do(line []rune, pos int) ([][]rune, int) {
	prefix := string(line[:pos])
	cands, n := r.c.Complete(prefix+string(line[pos:]), len(prefix))
	typed := []rune(prefix[len(prefix)-n:])
	var out [][]rune
	for _, cand := range cands {
		out = append(out, []rune(cand)[len(typed):])
	}
	return out, len(typed)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// plainEditor reads lines from a pipe or file (no terminal): the prompt is
// printed, nothing is edited, history is not kept.
type plainEditor struct {
	in  *bufio.Reader
	out io.Writer
}

// NewPlainEditor returns a line editor for input that is not a terminal.
func NewPlainEditor(in io.Reader, out io.Writer) LineEditor {
	return &plainEditor{in: bufio.NewReader(in), out: out}
}

func (e *plainEditor) ReadLine(prompt string) (string, error) {
	fmt.Fprint(e.out, prompt)
	line, err := e.in.ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(e.out)
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (e *plainEditor) AddHistory(string) {}
func (e *plainEditor) Close() error      { return nil }
