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
	// AddHistory records a line in the history.
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
	rl *readline.Instance
}

// NewTerminalEditor returns a line editor on the terminal, with the
// history in historyFile ("" for none) and c for tab completion.
func NewTerminalEditor(stdin io.ReadCloser, stdout, stderr io.Writer, historyFile string, c *Completer) (LineEditor, error) {
	if historyFile != "" {
		if err := os.MkdirAll(filepath.Dir(historyFile), 0o700); err != nil {
			historyFile = ""
		}
	}
	cfg := &readline.Config{
		Prompt:                 "gxl> ",
		HistoryFile:            historyFile,
		HistoryLimit:           1000,
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
		return nil, err
	}
	return &readlineEditor{rl: rl}, nil
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
	if strings.TrimSpace(line) != "" {
		_ = e.rl.SaveHistory(line)
	}
}

func (e *readlineEditor) Close() error { return e.rl.Close() }

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
