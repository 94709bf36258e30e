package repl

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gxl-dev/gxl/core/atomicfile"
	"github.com/gxl-dev/gxl/core/mask"
	"github.com/gxl-dev/gxl/runtime"
)

// historyLimit is how many lines the history keeps.
const historyLimit = 1000

// assignRE finds NAME = (an assignment or a :set), not ==.
var assignRE = regexp.MustCompile(`(?m)(^|[\s;{(])([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=([^=]|$)`)

// historyText is an input as the history keeps it (spec I.4): the text of
// every secret value in scope is masked, and the value assigned to a
// secret variable — a SEC_* name, or a variable that holds a secret
// value (declared secret: true, say) — is replaced by ***, whether by
// :set or by an assignment. The secret is not known yet when the input
// defines it: the name tells.
func historyText(text string, vars *runtime.Scope) string {
	isSecretName := func(name string) bool {
		if strings.HasPrefix(strings.ToUpper(name), "SEC_") {
			return true
		}
		v, ok := vars.Get(name)
		return ok && v.Secret()
	}
	var b strings.Builder
	rest := text
	for {
		m := assignRE.FindStringSubmatchIndex(rest)
		if m == nil {
			b.WriteString(rest)
			break
		}
		name := rest[m[4]:m[5]]
		valueAt := m[5]
		for valueAt < len(rest) && rest[valueAt] != '=' {
			valueAt++
		}
		valueAt++ // past '='
		if !isSecretName(name) {
			b.WriteString(rest[:valueAt])
			rest = rest[valueAt:]
			continue
		}
		b.WriteString(rest[:valueAt] + " " + mask.Replacement)
		lineStart := strings.LastIndexByte(rest[:m[4]], '\n') + 1
		isSet := strings.HasPrefix(strings.TrimSpace(rest[lineStart:m[4]]), ":set")
		rest = rest[valueAt+valueEnd(rest[valueAt:], isSet):]
	}
	return vars.Mask(b.String())
}

// valueEnd is the length of the value at the start of s: a quoted string
// (over lines), else up to ';' or the end of the line — for :set, the
// whole line.
func valueEnd(s string, wholeLine bool) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i < len(s) && s[i] == '"' {
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(s)
	}
	for j := i; j < len(s); j++ {
		if s[j] == '\n' || (!wholeLine && s[j] == ';') {
			return j
		}
	}
	return len(s)
}

// historyStore keeps the prompt's history on disk, readable by its owner
// only (0600, also when an older gxl created it 0644). It holds only what
// the session hands it, which historyText has masked.
type historyStore struct {
	path string
	f    *os.File
}

// openHistory opens (creating) the history file and returns its last
// historyLimit lines; a longer file is cut to them.
func openHistory(path string) (*historyStore, []string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, nil, err
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	h := &historyStore{path: path, f: f}
	if len(lines) > historyLimit {
		lines = lines[len(lines)-historyLimit:]
		if err := h.rewrite(lines); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	return h, lines, nil
}

// rewrite replaces the file by lines, through a 0600 temporary file.
func (h *historyStore) rewrite(lines []string) error {
	if err := atomicfile.Write(h.path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	h.f.Close()
	h.f = f
	return nil
}

// Append adds a line.
func (h *historyStore) Append(line string) error {
	_, err := h.f.WriteString(line + "\n")
	return err
}

func (h *historyStore) Close() error { return h.f.Close() }
